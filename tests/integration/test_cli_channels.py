"""`casework users channel add/list/remove` on a real SQLite file."""

from __future__ import annotations


def test_a_users_channels_are_added_listed_and_removed(run) -> None:
    run("db", "upgrade")
    run("orgs", "add", "suzhou", "苏州市总工会")
    run("users", "add", "sup-1", "--name", "督查", "--role", "supervisor", "--org", "suzhou")
    added = run("users", "channel", "add", "sup-1", "--kind", "email", "--target", "sup@union.example").output
    assert "added channel 1 for sup-1: email sup@union.example" in added
    run("users", "channel", "add", "sup-1", "--kind", "dingtalk", "--target", "0123456789abcdef", "--mute-digest")
    listed = run("users", "channel", "list", "sup-1").output
    assert "sup@union.example" in listed and "0123…" in listed and "muted" in listed
    assert "0123456789abcdef" not in listed  # a bot's token is its credential
    bad = run("users", "channel", "add", "sup-1", "--kind", "email", "--target", "nobody", ok=False)
    assert bad.exit_code == 1 and "must be an e-mail address" in bad.output and "Traceback" not in bad.output
    unknown = run("users", "channel", "add", "nobody", "--kind", "email", "--target", "a@b.cn", ok=False)
    assert unknown.exit_code == 1 and "no user nobody" in unknown.output
    assert "removed channel 1 of sup-1 (email)" in run("users", "channel", "remove", "1").output
    listed = run("users", "channel", "list", "sup-1").output
    assert "sup@union.example" not in listed
    assert "removed" in run("users", "channel", "list", "sup-1", "--all").output
    again = run("users", "channel", "remove", "1", ok=False)
    assert again.exit_code == 1 and "no channel 1" in again.output
