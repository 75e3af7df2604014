"""The monitor's sampler reads /proc and statvfs, and degrades to None where they are missing."""

from instance.monitor import sampling


def test_a_sample_has_every_figure(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    sample = sampling.sample()
    assert sample["uptime_seconds"] > 0
    assert all(value >= 0 for value in sample["load_average"])
    assert 0 < sample["memory"]["available_bytes"] <= sample["memory"]["total_bytes"]
    assert 0 < sample["disk"]["free_bytes"] <= sample["disk"]["total_bytes"]
    assert sample["process"]["rss_bytes"] > 0


def test_proc_files_are_parsed(tmp_path):
    (tmp_path / "self").mkdir()
    (tmp_path / "uptime").write_text("12345.67 999.00\n")
    (tmp_path / "loadavg").write_text("0.50 0.25 0.10 1/234 5678\n")
    (tmp_path / "meminfo").write_text("MemTotal:  2048 kB\nMemFree: 10 kB\nMemAvailable: 1024 kB\n")
    (tmp_path / "self" / "status").write_text("Name:\tpython\nVmRSS:\t   300 kB\n")
    assert sampling.host_uptime_seconds(tmp_path) == 12345.67
    assert sampling.load_averages(tmp_path) == [0.5, 0.25, 0.1]
    assert sampling.memory(tmp_path) == {"total_bytes": 2048 * 1024, "available_bytes": 1024 * 1024}
    assert sampling.process_rss_bytes(tmp_path) == 300 * 1024


def test_missing_proc_and_disk_give_none(tmp_path):
    assert sampling.host_uptime_seconds(tmp_path) is None
    assert sampling.load_averages(tmp_path) is None
    assert sampling.memory(tmp_path) == {"total_bytes": None, "available_bytes": None}
    assert sampling.process_rss_bytes(tmp_path) is None
    assert sampling.disk(tmp_path / "missing") == {"total_bytes": None, "free_bytes": None}
