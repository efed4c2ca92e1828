"""examples/benchmarks/llmseqprompt_full.py end to end on the tiny offline model:
fine-tune -> checkpoint -> planned stop (a kill) -> resume -> evaluate -> stop -> resume."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "benchmarks" / "llmseqprompt_full.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("llmseqprompt_full", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_killed_run_resumes_fine_tuning_and_evaluation(script, tmp_path):
    out = tmp_path / "run"
    common = [
        "--tiny", "--out", str(out), "--epochs", "2", "--max-train-examples", "12",
        "--max-validation-examples", "4", "--batch-size", "2",
        "--gradient-accumulation-steps", "2", "--checkpoint-every", "100",
        "--test-cases", "8", "--generation-batch-size", "2", "--eval-chunk", "2",
        "--n-samples", "2", "--max-new-tokens", "6",
    ]  # fmt: skip
    # 1. killed mid-fine-tuning: 2 epochs x 12 examples / (2 x 2) = 6 steps; stop at 4
    assert script.main([*common, "--stop-after-steps", "4"]) == script.PAUSED
    progress = json.loads((out / "checkpoint" / "progress.json").read_text())
    assert progress == {"optimizer_steps": 4, "epoch": 2, "batches_done": 2, "finished": False}
    assert not (out / "model").exists()
    # 2. resumes at step 4, finishes, saves the model; killed after 4 test cases
    assert script.main([*common, "--stop-after-cases", "4"]) == script.PAUSED
    log = (out / "log.txt").read_text()
    assert "fine-tuning resumes at optimizer step 4" in log
    assert "fine-tuned: 6 optimizer steps in all" in log
    assert (out / "model").exists()
    first = _lines(out / "predictions-free.jsonl")
    assert len(first) == 4
    # 3. loads the model, writes the other 4 cases, then the constrained ones
    assert script.main(common) == 0
    free = _lines(out / "predictions-free.jsonl")
    assert free[:4] == first and len({r["case"] for r in free}) == 8 == len(free)
    bound = _lines(out / "predictions-constrained.jsonl")
    assert sorted(r["case"] for r in bound) == sorted(r["case"] for r in free)
    assert all(r["hallucinated"] == 0 and len(r["items"]) == 20 for r in bound)
    result = json.loads((out / "results.json").read_text())
    assert result["history"]["optimizer_steps"] == 6 and result["test_cases"] == 8
    assert set(result["modes"]) == {"free", "constrained"} and result["device"] == "CPU"
    assert result["modes"]["constrained"]["hallucinated"] == 0
    assert 0 <= result["modes"]["free"]["metrics"]["NDCG@20"] <= 1
    assert [r["checkpoint_step"] for r in result["runs"]] == [None, 4, 6]
    assert "| genitem | constrained |" in (out / "results.md").read_text()
    # 4. beam search over the trie on the same fine-tuned model: distinct titles, no repeat
    assert script.main([*common, "--modes", "constrained-beam"]) == 0
    beams = _lines(out / "predictions-constrained-beam.jsonl")
    assert len(beams) == 8
    assert all(r["hallucinated"] == 0 == r["duplicates"] == r["in_prompt"] for r in beams)
    assert all(len(set(r["generated"])) == len(r["generated"]) == 2 for r in beams)
    log = (out / "log.txt").read_text()
    assert log.count("loaded the fine-tuned model") == 2 and log.count("fine-tuned: 6") == 1
    with pytest.raises(SystemExit):
        script.parse_args(["--tiny", "--out", str(out), "--variant", "genlist", "--modes", "beam"])
    # 5. a mode cut short: the modes are summarised on the cases all of them have written
    with (out / "predictions-beam-cut.jsonl").open("w") as f:
        f.writelines(json.dumps(r) + "\n" for r in beams[:3])
    (out / "predictions-constrained-beam.jsonl").write_text(
        (out / "predictions-beam-cut.jsonl").read_text()
    )
    args = [*common, "--modes", "free,constrained-beam", "--written-only"]
    assert script.main(args) == 0
    result = json.loads((out / "results.json").read_text())
    assert result["test_cases"] == 3 and set(result["modes"]) == {"free", "constrained-beam"}
    assert len(_lines(out / "predictions-constrained-beam.jsonl")) == 3  # nothing generated
    # 6. the docs table from results.json alone
    page = tmp_path / "page.md"
    assert script.main(["--out", str(out), "--report-only", "--docs-file", str(page)]) == 0
    text = page.read_text()
    assert (
        "<!-- BEGIN llmseqprompt_full_genitem -->" in text
        and "| genitem | constrained-beam |" in text
    )
