"""`huitouke analytics fit-summary FILE.csv [--json]`."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

HEADER = "customer_id,frequency,recency,T,monetary_value\n"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("analytics", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def cdnow_csv(tmp_path, cdnow):
    path = tmp_path / "cdnow.csv"
    cdnow.frame.to_csv(path)
    return path


def test_json_output_has_all_three_models_rounded_to_six_digits(cdnow_csv):
    result = json.loads(_run("fit-summary", str(cdnow_csv), "--json"))
    assert list(result) == ["bgnbd", "pareto_nbd", "gamma_gamma"]
    assert list(result["bgnbd"]) == ["r", "alpha", "a", "b", "loglik"]
    assert list(result["pareto_nbd"]) == ["r", "alpha", "s", "beta", "loglik"]
    assert list(result["gamma_gamma"]) == ["p", "q", "v", "loglik"]
    assert result["bgnbd"]["r"] == pytest.approx(0.243, rel=0.0025)
    assert result["bgnbd"]["loglik"] == pytest.approx(-9582.4, abs=0.1)
    assert result["pareto_nbd"]["loglik"] == pytest.approx(-9595.0, abs=0.1)
    assert result["gamma_gamma"]["p"] == pytest.approx(6.2488, rel=1e-4)
    for fields in result.values():
        for value in fields.values():
            assert value == float(f"{value:.6g}")


def test_table_output_is_readable(cdnow_csv):
    text = _run("fit-summary", str(cdnow_csv))
    for needle in ("BG/NBD", "Pareto/NBD", "Gamma-Gamma", "2357 customers", "-9582.4"):
        assert needle in text


def test_a_model_that_does_not_fit_reports_why_and_the_others_still_print(tmp_path):
    path = tmp_path / "once.csv"
    path.write_text(
        "frequency,recency,T,monetary_value\n" + "0,0,30,0\n" * 40 + "0,0,12.5,0\n", encoding="utf-8"
    )
    result = json.loads(_run("fit-summary", str(path), "--json"))
    assert result["bgnbd"] == {
        "error": "all 41 customers bought only once: a purchase model needs repeat buyers"
    }
    assert "error" in result["pareto_nbd"] and "error" in result["gamma_gamma"]
    assert "bought only once" in _run("fit-summary", str(path))


def test_columns_may_come_in_any_order_with_extra_ones(tmp_path, cdnow):
    path = tmp_path / "shuffled.csv"
    rows = [
        f"x{i},{m},{t},{r},{f}\n"
        for i, (f, r, t, m) in enumerate(
            zip(cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value, strict=True)
        )
    ]
    path.write_text("id,monetary_value,T,recency,frequency\n" + "".join(rows) + "\n", encoding="utf-8")
    result = json.loads(_run("fit-summary", str(path), "--json"))
    assert result["bgnbd"]["a"] == pytest.approx(0.793, rel=0.0025)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("frequency,recency,monetary_value\n1,2,3\n", "missing column 'T'"),
        ("", "missing column 'frequency', 'recency', 'T', 'monetary_value'"),
        (HEADER + "1,2,30.4,38.8,12\n2,1,abc,38.8,3\n", "line 3: recency 'abc' is not a number"),
        (HEADER + "1,2,30.4,38.8,12\n2,1,3\n", "line 3: no value for T"),
        (HEADER + "1,2,40,38.8,12\n", "line 2: recency is larger than T"),
        (HEADER + "1,0,0,38.8,12\n2,1.5,3,38.8,1\n", "line 3: frequency is not a whole number"),
        (HEADER + "1,2,3,38.8,-4\n", "line 2: monetary_value is negative"),
        (HEADER + "1,2,3,inf,4\n", "line 2: T 'inf' is not a finite number"),
        (HEADER, "no customers"),
    ],
)
def test_bad_input_names_the_problem_and_its_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        _run("fit-summary", str(path), "--json")


def test_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        _run("fit-summary", str(tmp_path / "nope.csv"))


def test_excel_style_bom_and_blank_lines_are_fine(tmp_path, cdnow):
    path = tmp_path / "bom.csv"
    lines = [
        f"{f},{r},{t},{m}\n"
        for f, r, t, m in zip(cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary_value, strict=True)
    ]
    path.write_text("\ufefffrequency,recency,T,monetary_value\n\n" + "".join(lines), encoding="utf-8")
    result = json.loads(_run("fit-summary", str(path), "--json"))
    assert np.isclose(result["gamma_gamma"]["q"], 3.7446, rtol=1e-4)
