"""`harness describe` from the command line."""

import json

from harness.cli.main import main


def test_describe_json_has_the_documented_fields(capsys):
    assert main(["describe", "--fno-blocks", "6", "--torch-max-hidden-channels", "512", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 118_263_522 and info["feasible"] is True and info["reason"] is None
    assert info["channels"] == [32, 64, 128, 256, 512, 512]
    assert info["train_memory_bytes"] > 8 * 118_263_522 + 3 * 8 * info["live_params"] / 2  # weights + grads + Adam


def test_describe_infeasible_and_bad_input(capsys):
    assert main(["describe", "--fno-blocks", "8", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["feasible"] is False and "depth 8" in info["reason"]
    assert main(["describe", "--fno-blocks", "0"]) == 2
    assert "--fno-blocks 0" in capsys.readouterr().err
    assert main(["describe", "--architectures", "unet"]) == 2
    assert "--architectures unet" in capsys.readouterr().err


def test_describe_several_architectures_prints_a_list(capsys):
    assert main(["describe", "--architectures", "hybrid", "stable_hybrid", "--fno-blocks", "3", "--json"]) == 0
    infos = json.loads(capsys.readouterr().out)
    assert [i["architecture"] for i in infos] == ["hybrid", "stable_hybrid"]
    assert infos[1]["params"] > infos[0]["params"]  # InstanceNorm affine and LayerScale vectors


def test_describe_of_an_absurd_depth_is_one_line_with_a_useful_hint(capsys):
    assert main(["describe", "--fno-blocks", "99"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "--fno-blocks 99" in error and "the deepest is 7" in error
    assert "316912650057057350374175801344" not in error
    assert main(["describe", "--fno-blocks", "8"]) == 0  # infeasible at N=64 but a real question: answered
    assert "e.g. n=128" in capsys.readouterr().out


def test_describe_measures_memory_only_on_a_gpu(capsys):
    assert main(["describe", "--fno-blocks", "3", "--device", "cpu", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["measured_peak_bytes"] is None and info["measured_on"] is None
    import pytest
    import torch

    from harness.models import GeneratorPlan, build_generator
    from harness.train.step import measured_step_memory

    with pytest.raises(ValueError, match="CUDA"):
        measured_step_memory(build_generator(GeneratorPlan("hybrid", depth=2, width=8, modes=4, n=32)), 2, 32, "cpu")
    if torch.cuda.is_available():
        assert main(["describe", "--fno-blocks", "4", "--device", "cuda", "--json"]) == 0
        measured = json.loads(capsys.readouterr().out)
        assert 0 < measured["measured_peak_bytes"] < 4 * measured["train_memory_bytes"]
