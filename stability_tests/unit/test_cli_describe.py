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
