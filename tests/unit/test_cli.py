from pathlib import Path

from click.testing import CliRunner

from k8s_aws.cli.main import cli


def test_invalid_cluster_name_is_one_readable_error_and_nothing_starts(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["sandbox", "up", "--dir", str(tmp_path), "--cluster-name", "9bad name"]
    )
    assert result.exit_code == 2
    assert "--cluster-name" in result.output and "must match" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "pids").exists()


def test_negative_node_count_names_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "up", "--dir", str(tmp_path), "--nodes", "-1"])
    assert result.exit_code == 2
    assert "--nodes" in result.output


def test_status_of_an_empty_directory_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "status", "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"no sandbox in {tmp_path}" in result.output


def test_down_of_an_empty_directory_is_a_no_op(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sandbox", "down", "--dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "stopped 0 processes" in result.output


def test_gc_refuses_wait_without_delete_before_any_aws_call() -> None:
    """--wait only paces deletions: on a dry run it would be accepted and ignored."""
    env = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9/"}  # nothing listens: no call may be made
    result = CliRunner().invoke(
        cli, ["gc", "--cluster-name", "demo", "--cluster-gone", "--wait", "10"], env=env)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--wait is only for --delete" in lines[0], result.output
    assert "Traceback" not in result.output


def test_setup_refuses_a_subnet_tag_value_with_no_subnet_to_tag() -> None:
    env = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "",
           "AWS_ENDPOINT_URL": "http://127.0.0.1:9/"}  # nothing listens: no call may be made
    result = CliRunner().invoke(
        cli, ["setup", "--cluster-name", "demo", "--subnet-tag-value", "owned"], env=env)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--subnet-tag-value only applies with" in lines[0], result.output
