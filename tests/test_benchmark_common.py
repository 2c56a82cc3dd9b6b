"""benchmarks/common.py run_main: how a benchmark script ends (the scripts themselves are run by hand, not here)."""

from __future__ import annotations

import pytest

from benchmarks.common import JUDGES, judge_key, run_main
from gankit.errors import ConfigError


def _raise(error: Exception):
    def main():
        raise error

    return main


def test_a_gankit_error_ends_the_script_with_one_line_and_code_2(capsys):
    with pytest.raises(SystemExit) as e:
        run_main(_raise(ConfigError("unknown config key 'train.bogus'")))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: unknown config key 'train.bogus'" in err


def test_any_other_error_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        run_main(_raise(ZeroDivisionError("a bug in the script")))


@pytest.mark.parametrize("returned, code", [(None, 0), (0, 0), (3, 3)])
def test_main_s_return_value_is_the_exit_code(returned, code):
    with pytest.raises(SystemExit) as e:
        run_main(lambda: returned)
    assert e.value.code == code


def test_a_plain_judge_keeps_the_cache_key_it_had_before_there_was_a_choice():
    # judges cached before --judge existed were keyed without it; plain must still find them
    assert judge_key("plain") == {}
    assert judge_key("varied") == {"augment": "handwriting_variation"}


def test_every_judge_training_is_a_set_of_train_classifier_options():
    import inspect

    from gankit.metrics.classifier import train_classifier

    options = inspect.signature(train_classifier).parameters
    for name, fit in JUDGES.items():
        assert set(fit) <= set(options), name


def test_benchmarks_run_the_cli_through_this_python():
    """`sys.executable -m gankit`, never a bare `gankit` found on PATH: a benchmark started with a virtual
    environment's python (not activated) must run that environment's gankit."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "benchmarks"
    bare = re.compile(r"""[\[(]\s*["']gankit["']|which\(\s*["']gankit["']""")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if bare.search(p.read_text())]
    assert offenders == []
