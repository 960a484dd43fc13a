from troubleshooter.cli import entry

entry()
