"""`troubleshooter drill`: the command's fast paths and one-line errors, the scenario schema's
precise messages, answers files, looks that mask and sanitise, scores and history, the guided
mode, and teardown after an unexpected error. The scenarios end to end: tests/drill/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drill.drillkit import RIGHT, Leftovers, drill
from troubleshooter.cli import main
from troubleshooter.drill import scenario as scenarios
from troubleshooter.drill.answers import from_mapping
from troubleshooter.drill.flow import Drill
from troubleshooter.drill.lab import build, setup
from troubleshooter.drill.looks import look
from troubleshooter.drill.scoring import Attempt, record, score
from troubleshooter.drill.supervisor import Program, Supervisor
from troubleshooter.errors import PlaybookError, UsageError

COMMAND = Path(sys.executable).with_name("troubleshooter")
SHIPPED = scenarios.load_all()
REMEDIES = scenarios.load_remedies(scenarios.shipped_dir())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["drill", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def leftovers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Leftovers]:
    found = Leftovers()
    save = Supervisor.save

    def noting(self: Supervisor) -> None:
        save(self)
        found.note(self.state_path)

    monkeypatch.setattr(Supervisor, "save", noting)
    yield found


# -- the command ---------------------------------------------------------------------------
def test_list_prints_one_scenario_a_line_name_first(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--list")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(SHIPPED)
    for line in lines:
        s = SHIPPED[line.split()[0]]
        assert line.split(None, 2)[1] == s.difficulty and line.endswith(s.title)
    assert len(lines) >= 13


def test_list_by_difficulty(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--list", "--difficulty", "hard")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == sorted(
        s.name for s in SHIPPED.values() if s.difficulty == "hard")


def test_list_and_help_import_neither_redis_nor_rq() -> None:
    code = ("import sys; from troubleshooter.cli import main; main(['drill', '--list']); "
            "print(sorted(m for m in ('redis', 'rq', 'questionary', 'rich.markdown') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30)
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(("args", "message"), [
    (["no-such-drill"], "no drill scenario 'no-such-drill' (known: " + ", ".join(SHIPPED) + ")"),
    (["--url", "x"], "a drill makes its own Redis: drop --url"),
    (["oom"], "a drill needs its trainee: run it in a terminal, or give --answers FILE (see "
              "the README's Drills section)"),
    (["--restart", "redis"], "no drill is set up: nothing to restart"),
    (["--difficulty", "extreme"],
     "argument --difficulty: invalid choice: 'extreme' (choose from 'easy', 'medium', 'hard') "
     "(see `troubleshooter drill --help`)"),
])
def test_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str,
) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"troubleshooter: error: {message}"]


@pytest.mark.parametrize(("answers", "message"), [
    ("[1, 2]", "a drill answers file is a mapping (trainee, looks, hints, diagnosis, remedy, "
               "fix, give_up)"),
    ("diagnosis: server.oom\nremedy: free-memory\nlook: [ping]",
     "unknown key 'look' (known: trainee, looks, hints, diagnosis, remedy, fix, give_up)"),
    ("diagnosis: server.oomm\nremedy: free-memory",
     "diagnosis: 'server.oomm' is not a finding code (see docs/FINDINGS.md) nor something-else"),
    ("diagnosis: server.oom\nremedy: reboot", "remedy: 'reboot' is not one of: "
     + ", ".join(REMEDIES)),
    ("diagnosis: server.oom\nremedy: free-memory\nfix: [{reboot: now}]",
     "fix[0]: unknown fix 'reboot' (known: redis, shell, restart, stop, set, copy, requeue, "
     "resend_lost)"),
    ("diagnosis: server.oom\nremedy: free-memory\nfix: [{set: {file: /etc/passwd, key: a, "
     "value: b}}]", "fix[0]: file must be one of app.env, worker.env"),
    ("diagnosis: server.oom\nremedy: free-memory\nlooks: [everything]",
     "looks: expected a list of: ping, processes, info:server, info:memory, info:replication, "
     "info:persistence, info:clients, info:stats, workers, queues, app.log, worker.log, "
     "redis.log, app.env, worker.env, redis.conf"),
])
def test_a_bad_answers_file_is_one_line_before_anything_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, answers: str, message: str,
    leftovers: Leftovers,
) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(answers)
    code, out, err = run(capsys, "oom", "--answers", str(path))
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"troubleshooter: error: {path}: {message}"]
    assert leftovers.pids == {}


def test_no_redis_server_is_one_clear_line_and_nothing_left(tmp_path: Path) -> None:
    answers = tmp_path / "a.yaml"
    answers.write_text("diagnosis: server.oom\nremedy: free-memory\n")
    env = {**os.environ, "TROUBLESHOOTER_REDIS_SERVER": "/nonexistent",
           "XDG_STATE_HOME": str(tmp_path / "state")}
    done = subprocess.run([str(COMMAND), "drill", "oom", "--answers", str(answers)], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        "troubleshooter: error: TROUBLESHOOTER_REDIS_SERVER=/nonexistent is not an executable "
        "file"]
    assert not (tmp_path / "state" / "troubleshooter" / "drills" / "current.json").exists()


def test_an_unexpected_error_mid_drill_still_tears_everything_down(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, leftovers: Leftovers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the drill")

    monkeypatch.setattr(Drill, "run", broken)
    code, out, err = drill(capsys, tmp_path, "hung", RIGHT["hung"])
    assert code == 3
    assert err.splitlines()[0].startswith(
        "troubleshooter: internal error: RuntimeError: a bug in the drill")
    assert leftovers.pids and leftovers.left() == []


# -- scenarios as data ---------------------------------------------------------------------
GOOD = (SHIPPED["oom"].path and Path(SHIPPED["oom"].path).read_text(encoding="utf-8"))


@pytest.mark.parametrize(("edit", "problems"), [
    (lambda t: t.replace("difficulty: medium", "difficulty: extreme"),
     ["oom.yaml:3: difficulty: expected one of easy, medium, hard, got string 'extreme'"]),
    (lambda t: t.replace("diagnosis: server.oom", "diagnosis: server.out_of_memory"),
     ["oom.yaml:23: diagnosis: unknown finding code 'server.out_of_memory' (see "
      "docs/FINDINGS.md)"]),
    (lambda t: t.replace("remedy: free-memory", "remedy: buy-ram"),
     ["oom.yaml:24: remedy: unknown remedy 'buy-ram' (known: " + ", ".join(REMEDIES)
      + "; add it to remedies.yaml)"]),
    (lambda t: t.replace("  - fill_memory\n", "  - flood_memory\n"),
     ["oom.yaml:18: setup[4]: expected a setup step: a mapping with one of "
      + ", ".join(scenarios.STEP_KINDS) + ", got string 'flood_memory'"]),
    (lambda t: t.replace("{redis.port}/0\", RQ_QUEUE_NAME: orchestrator}\n  worker",
                         "{redis.prot}/0\", RQ_QUEUE_NAME: orchestrator}\n  worker"),
     ["oom.yaml:11: env.app.REDIS_URL: unknown placeholder {redis.prot} (known: dir, "
      "old_password, password, queue, redis.port, spare.port, time)"]),
    (lambda t: t.replace("name: oom", "name: oom2"),
     ["oom.yaml:1: name: must match the file name: 'oom' (rename one of them)"]),
    (lambda t: t.replace("debrief: |", "debrief_text: |"),
     ["oom.yaml:1: (top): missing required field 'debrief'"]),
    (lambda t: t.replace("servers:", "servers: [", 1),
     ["oom.yaml:10:1: YAML syntax error: expected ',' or ']', but got '<scalar>' (while "
      "parsing a flow sequence at line 8, column 10)"]),
])
def test_a_broken_scenario_names_file_line_path_and_what_was_expected(
    edit: object, problems: list[str], tmp_path: Path,
) -> None:
    path = tmp_path / "oom.yaml"
    text = edit(GOOD)  # type: ignore[operator]
    path.write_text(text)
    with pytest.raises(PlaybookError) as caught:
        scenarios.loads(text, str(path), REMEDIES)
    assert caught.value.problems == [f"{tmp_path}/{p}" for p in problems]


def test_a_team_can_add_scenarios_in_a_directory_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "remedies.yaml").write_text("free-memory: Free memory\n")
    (tmp_path / "our-oom.yaml").write_text(GOOD.replace("name: oom", "name: our-oom"))
    assert list(scenarios.load_all(tmp_path)) == ["our-oom"]


def test_a_teams_scenarios_join_the_shipped_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "remedies.yaml").write_text("trim-cache: Trim the reporting cache\n")
    (tmp_path / "team-oom.yaml").write_text(
        GOOD.replace("name: oom", "name: team-oom").replace("remedy: free-memory",
                                                             "remedy: trim-cache"))
    monkeypatch.setenv("TROUBLESHOOTER_DRILLS", str(tmp_path))
    code, out, _ = run(capsys, "--list")
    names = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and names == sorted([*SHIPPED, "team-oom"])
    found, remedies = scenarios.catalogue(os.environ)
    assert found["team-oom"].remedy == "trim-cache" and "free-memory" in remedies
    (tmp_path / "broken.yaml").write_text(GOOD.replace("name: oom", "name: broken")
                                          .replace("workers: 1", "").replace(
                                              "difficulty: medium", "difficulty: 3"))
    code, out, err = run(capsys, "--list")
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"troubleshooter: error: {tmp_path}/broken.yaml:3: difficulty: "
                                "expected one of easy, medium, hard, got integer 3"]
    monkeypatch.setenv("TROUBLESHOOTER_DRILLS", str(tmp_path / "nope"))
    assert run(capsys, "--list")[2].splitlines() == [
        f"troubleshooter: error: TROUBLESHOOTER_DRILLS={tmp_path}/nope is not a directory"]


def test_pick_by_name_difficulty_or_seed() -> None:
    assert scenarios.pick(SHIPPED, "hung", None, None).name == "hung"
    for seed in range(10):
        assert scenarios.pick(SHIPPED, None, "hard", seed).difficulty == "hard"
    assert scenarios.pick(SHIPPED, None, None, 3) is scenarios.pick(SHIPPED, None, None, 3)


# -- looks, scores, history, supervisor ------------------------------------------------------
def test_looks_mask_passwords_and_show_invisible_characters(tmp_path: Path) -> None:
    for name, look_id, shown in (("wrong-password", "app.env", "REDIS_URL=redis://:****("),
                                 ("invisible-char", "app.env", "127.0.0.1:\\u200b"),
                                 ("wrong-password", "ping", "AuthenticationError: invalid "
                                                            "username-password pair")):
        lab = build(SHIPPED[name], tmp_path / "state.json")
        try:
            setup(lab)
            text = look(lab, look_id)
            assert shown in text
            for secret in lab.secrets:
                assert secret not in text
            assert "\u200b" not in text
            assert lab.secrets or name == "invisible-char"
        finally:
            lab.sup.teardown()


def test_full_marks_need_the_cause_the_remedy_and_a_verified_fix_without_hints() -> None:
    s = SHIPPED["oom"]

    def attempt(**changes: object) -> Attempt:
        base = dict(trainee="t", scenario="oom", mode="blind", looks=(), hints=0,
                    diagnosis="server.oom", remedy="free-memory", fixes=(), fixed=True,
                    time_to_diagnosis_s=1.0, time_to_recovery_s=2.0)
        return Attempt(**{**base, **changes})  # type: ignore[arg-type]

    assert score(s, attempt()).total == 100
    assert score(s, attempt(diagnosis="server.readonly")).total == 60
    assert score(s, attempt(remedy="noeviction")).total == 80
    assert score(s, attempt(fixed=False)).total == 60
    assert score(s, attempt(hints=2)).total == 80
    assert score(s, attempt(diagnosis="x", remedy="y", fixed=False, hints=3)).total == 0


def test_history_shows_each_trainees_progress(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(capsys, "--history")[1] == "No drill scores yet.\n"
    environ = dict(os.environ)
    for trainee, name, fixed in (("alice", "oom", False), ("bob", "hung", True),
                                 ("alice", "hung", True)):
        a = Attempt(trainee, name, "blind", ("ping",), 0, SHIPPED[name].diagnosis[0],
                    SHIPPED[name].remedy, (), fixed, 12.0, 30.0 if fixed else None)
        record(environ, a, score(SHIPPED[name], a))
    code, out, _ = run(capsys, "--history")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "alice: 2 drill(s), mean 80, best 100, last 100"
    assert re.match(r"  \S+ +oom +blind +60/100  diagnosis 12.0 s, recovery - s, hints 0",
                    lines[1]), lines[1]
    assert re.match(r"  \S+ +hung +blind +100/100  diagnosis 12.0 s, recovery 30.0 s",
                    lines[2]), lines[2]
    assert lines[3] == "bob: 1 drill(s), mean 100, best 100, last 100"
    code, out, _ = run(capsys, "--history", "--trainee", "bob")
    assert out.splitlines()[0] == "bob: 1 drill(s), mean 100, best 100, last 100"
    assert "alice" not in out


def test_the_trainee_defaults_to_the_login_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("USER", "carol")
    monkeypatch.setenv("LOGNAME", "carol")
    code, out, err = drill(capsys, tmp_path, "password-missing",
                           {**RIGHT["password-missing"]}, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["attempt"]["trainee"], result["score"]) == ("carol", 100)


def test_guided_shows_the_verdicts_then_scores(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    code, out, err = drill(capsys, tmp_path, "server-down", RIGHT["server-down"], "--guided")
    assert code == 0, out + err
    assert "network.refused" in out.split("Debrief")[0]  # the wizard's verdicts, before
    assert "Score   100/100" in out


def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "s.json", tmp_path / "d", {})
    sup.programs["me"] = Program("me", ["x"], "log", {}, pid=os.getpid(), ticks=1)
    assert not sup.programs["me"].alive()
    sup.stop("me")  # would kill this test process if it trusted the PID alone
    (tmp_path / "d").mkdir()
    assert sup.teardown() == []
    assert not (tmp_path / "d").exists()


def test_teardown_stops_what_another_shell_restarted(tmp_path: Path) -> None:
    """`drill --restart` from a second shell starts a new PID: the drill stops that one."""
    state = tmp_path / "current.json"
    lab = build(SHIPPED["queue-mismatch"], state)
    left = Leftovers()
    try:
        setup(lab)
        left.note(state)
        other = Supervisor.load(state)
        old = other.programs["worker-1"].pid
        assert other.restart("worker-1").pid != old
        left.note(state)
        assert len(lab.live_worker_names()) == 1 and str(other.programs["worker-1"].pid) in \
            lab.live_worker_names()[0]
    finally:
        assert sorted(lab.sup.teardown()) == ["redis", "worker-1"]
    assert len(left.pids) == 3 and left.left() == []


def test_verification_catches_a_job_run_twice_and_a_job_lost(tmp_path: Path) -> None:
    from troubleshooter.drill import fixes
    from troubleshooter.drill.verify import verify

    lab = build(SHIPPED["queue-mismatch"], tmp_path / "current.json")
    try:
        setup(lab)
        assert not verify(lab, deadline=0.5).ok  # nobody serves the app's queue yet
        fixes.apply(lab, "copy", {"from": "app.env", "to": "worker.env",
                                  "key": "RQ_QUEUE_NAME"})
        fixes.apply(lab, "restart", "workers")
        lab.enqueue(lab.admin(), lab.app_queue, "job-2")  # a second run of job-2
        verdict = verify(lab, deadline=5)
        assert not verdict.ok
        assert verdict.checks[-1] == (False, "job(s) run more than once: job-2")
        lab.outbox.write_text(lab.outbox.read_text() + '{"token": "job-9", "job_id": "gone", '
                              '"queue": "orchestrator"}\n')
        runs = lab.runs_file.read_text().split()
        lab.runs_file.write_text("".join(f"{t}\n" for t in dict.fromkeys(runs)))
        verdict = verify(lab, deadline=0.5)  # the new probe may not have run yet, job-9 never
        assert verdict.checks[-1][0] is False
        assert re.search(r"job\(s\) never ran: (.*, )?job-9[ ,]", verdict.checks[-1][1])
    finally:
        lab.sup.teardown()


def test_a_broken_state_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "current.json"
    path.write_text("{not json")
    with pytest.raises(UsageError, match=r"^cannot read the drill state .*current\.json"):
        Supervisor.load(path)


def test_answers_files_are_validated_from_their_data() -> None:
    trainee = from_mapping({"diagnosis": "server.oom", "remedy": "free-memory",
                            "fix": [{"restart": "workers"}], "hints": 1}, "f", REMEDIES)
    assert (trainee.cause, trainee.fixes, trainee.hints) == ("server.oom",
                                                            [("restart", "workers")], 1)


def test_the_schema_names_exactly_what_the_code_implements() -> None:
    from troubleshooter.drill import fixes, looks, steps

    assert set(scenarios.STEP_KINDS) == set(steps.STEPS)
    assert list(scenarios.LOOK_IDS) == list(looks.LOOKS)
    assert list(fixes.KINDS) == list(fixes.FIXES)


def test_the_readme_example_answers_file_is_valid() -> None:
    import yaml

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [example] = re.findall(r"```yml\n(.*?)```", readme, re.S)
    trainee = from_mapping(yaml.safe_load(example), "README", REMEDIES)
    assert (trainee.trainee, trainee.cause, len(trainee.fixes)) == ("alice", "server.oom", 3)


def test_a_fix_reads_as_typed_in_the_debrief() -> None:
    from troubleshooter.drill.fixes import describe

    assert describe("redis", ["CONFIG", "SET", "maxmemory", "64mb"]) == \
        "redis CONFIG SET maxmemory 64mb"
    assert describe("copy", {"from": "worker.env", "to": "app.env", "key": "REDIS_URL"}) == \
        "copy from=worker.env to=app.env key=REDIS_URL"
    assert describe("restart", "workers") == "restart workers"
