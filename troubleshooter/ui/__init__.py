"""Everything a person sees or answers: rich rendering and questionary prompts."""
