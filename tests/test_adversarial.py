"""What an adversarial user tries: dotfiles in the work dir, malicious weights files on every loading path."""

# ------------------------------------------------------------------------------------------ the suite's work dir
def test_suite_runs_never_delete_the_users_dotfiles(tmp_path):
    from evaluation.suite.config import validate_config
    from evaluation.suite.stages import Suite
    from tests.evaluation.test_run_all import _tiny_config

    work = tmp_path / "work"
    keep = [work / ".env", work / ".gitignore", work / "sub" / ".gitkeep", work / "state" / ".gitkeep",
            work / ".x.json.uptflow-tmp-notours.json"]
    for p in keep:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("mine")
    stray = [work / "state" / ".score.json.uptflow-tmp-abc123.json", work / ".run_info-shard-0-of-1.json"
             ".uptflow-tmp-k9.json"]
    for p in stray:
        p.write_text("{")
    cfg = _tiny_config(tmp_path, tasks=("enhancement",))
    cfg["enhancers"] = cfg["enhancers"][:2]
    for resume in (False, True):  # a fresh run, then a resumed one
        assert Suite(validate_config(cfg), resume=resume, progress=False).run() == 0
        assert all(p.read_text() == "mine" for p in keep)
    assert not any(p.exists() for p in stray)
