"""gankit serve in-process: every endpoint of systems covering every task, their parameters, bad uploads (the
hostile corpus included), the concurrency limit, and the CLI's wiring."""

from __future__ import annotations

import io
import json
import os
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from starlette.testclient import TestClient

from gankit.cli import main
from gankit.models import DataInfo
from gankit.registry import MODELS
from gankit.serve.app import Limits, create_app
from gankit.serve.endpoints import ENDPOINTS
from gankit.tasks import PROTOCOLS
from gankit.trained import Model

from ..data.hostile import _png_with_size, make_corpus

DIGITS = DataInfo("d", 16, 1, num_classes=10, class_names=[str(k) for k in range(10)])
# Untrained systems small enough that a request takes milliseconds; together they declare every task.
SYSTEMS = {
    "infogan": (DIGITS, {"base_channels": 8, "hidden": 32, "z_dim": 8}),
    "anogan": (DIGITS, {"base_channels": 8, "encoder_hidden": 32, "z_dim": 8, "search_steps": 3}),
    "triplegan": (DIGITS, {"base_channels": 8, "g_width": 32, "z_dim": 8}),
    "cyclegan": (DataInfo("u", 16, 3, kind="unpaired", in_channels=3),
                 {"base_channels": 8, "d_base_channels": 8, "n_blocks": 1, "n_layers": 1}),
    "stargan": (DataInfo("a", 16, 3, num_classes=2, class_names=["dark", "light"], attrs=["dark", "light", "thick"],
                         attr_groups=[[0, 1]]), {"base_channels": 8, "d_base_channels": 8, "n_blocks": 1}),
    "pix2pix": (DataInfo("p", 32, 3, kind="paired", in_channels=3), {"base_channels": 8, "d_base_channels": 8}),
    "enhancenet": (DataInfo("s", 16, 3, kind="sr", in_channels=3, scale=4),
                   {"width": 8, "blocks": 1, "feature_net": "random", "losses": "E"}),
    "simgan": (DataInfo("r", 16, 1, num_classes=10, kind="refine"), {"width": 8, "blocks": 1}),
    "gan": (DataInfo("ring8", 0, 0, dim=2), {}),  # 2-D data: samples as a scatter plot
}


def tiny(name: str) -> Model:
    info, cfg = SYSTEMS[name]
    cls = MODELS.get(name)
    return Model(cls(cls.Config(**cfg), info).to_device(torch.device("cpu")).eval())


@pytest.fixture(scope="module")
def clients():
    made = {}
    for name in SYSTEMS:
        made[name] = TestClient(create_app(tiny(name)))
        made[name].__enter__()
    yield made
    for client in made.values():
        client.__exit__(None, None, None)


def png(width: int = 24, height: int = 20, mode: str = "RGB", seed: int = 0) -> bytes:
    """A random picture's file (PNG; JPEG for CMYK, which PNG cannot hold)."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(arr).convert(mode).save(buffer, "JPEG" if mode == "CMYK" else "PNG")
    return buffer.getvalue()


def picture(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def refused(response, status: int) -> str:
    """The one-line reason of a refusal with `status`."""
    assert response.status_code == status, (response.status_code, response.text)
    reason = response.json()["error"]
    assert reason and "\n" not in reason
    return reason


def test_the_systems_cover_every_task_and_every_task_has_endpoints():
    assert {t for name in SYSTEMS for t in MODELS.get(name).tasks} == set(PROTOCOLS) == set(ENDPOINTS)


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_page_and_info_offer_exactly_what_the_model_does(clients, name):
    client = clients[name]
    page = client.get("/")
    assert page.status_code == 200 and "/api/info" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing loaded from elsewhere
    info = client.get("/api/info").json()
    assert info["model"] == name and info["tasks"] == list(MODELS.get(name).tasks)
    offered = [e["name"] for e in info["endpoints"]]
    assert offered == [e.name for task in info["tasks"] for e in ENDPOINTS[task]]
    for task, group in ENDPOINTS.items():  # an endpoint of a task it does not declare: 404, naming what it can do
        if task not in info["tasks"]:
            for endpoint in group:
                reason = refused(client.post(f"/api/{endpoint.name}", content=png()), 404)
                assert f"{name} does not" in reason and "it can:" in reason
    assert "unknown endpoint 'nope'" in refused(client.get("/api/nope"), 404)


@pytest.mark.parametrize("name", list(SYSTEMS))
def test_every_endpoint_answers_with_defaults(clients, name):
    client = clients[name]
    for endpoint in client.get("/api/info").json()["endpoints"]:
        path = endpoint["path"]
        response = client.post(path, content=png() if endpoint["upload"] else b"")
        if endpoint["returns"] == "application/json":
            assert response.status_code == 200, response.text
            assert all(np.isfinite(v) for v in _numbers(response.json()))
        else:
            img = picture(response)
            if endpoint["name"] in ("translate", "refine"):  # same size as the upload
                assert img.size == (24, 20)
            elif endpoint["name"] == "upscale":
                assert img.size == (96, 80)
            else:
                assert min(img.size) >= 64  # grids of tiles scaled up to be seen
        if endpoint["upload"]:
            assert "POST" in refused(client.get(path), 405)


def _numbers(value) -> list[float]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _numbers(v)]
    return [float(value)] if isinstance(value, (int, float)) else []


def test_json_answers(clients):
    codes = clients["infogan"].post("/api/encode", content=png()).json()
    assert list(codes["codes"]) == ["c1", "c2", "c3"] and codes["categorical"] == {"c1": 10}
    assert isinstance(codes["codes"]["c1"], int) and 0 <= codes["codes"]["c1"] < 10
    result = clients["triplegan"].post("/api/classify", content=png()).json()
    probabilities = result["probabilities"]
    assert list(probabilities) == [str(k) for k in range(10)] and sum(probabilities.values()) == pytest.approx(1)
    assert result["label"] == str(result["class"]) == max(probabilities, key=probabilities.get)
    encoder = clients["anogan"].post("/api/score?scorer=encoder", content=png()).json()
    latent = clients["anogan"].post("/api/score?scorer=latent&seed=3", content=png()).json()
    assert encoder["scorer"] == "encoder" and latent["scorer"] == "latent" and encoder["score"] != latent["score"]
    assert picture(clients["anogan"].post("/api/score-map", content=png())).size == (2 + 3 * 130, 2 + 130)


def test_parameters(clients):
    sample = clients["triplegan"]
    a, b = sample.get("/api/sample?n=4&seed=1"), sample.get("/api/sample?n=4&seed=1")
    assert a.content == b.content != sample.get("/api/sample?n=4&seed=2").content  # the seed decides
    assert picture(sample.get("/api/sample?n=3&label=7")).size == (2 + 2 * 66, 2 + 2 * 66)
    assert "unknown label '10'" in refused(sample.get("/api/sample?label=10"), 400)
    assert "n must be from 1 to 64, got 65" == refused(sample.get("/api/sample?n=65"), 400)
    assert "n takes an integer, got 'x'" == refused(sample.get("/api/sample?n=x"), 400)
    huge = refused(sample.get("/api/sample?seed=" + "9" * 100), 400)
    assert huge == f"seed must be from 0 to 4294967295, got {'9' * 40}..."
    assert "seed must be from 0" in refused(sample.get("/api/sample?seed=-1"), 400)
    assert "unknown label 'a\\nb'" in refused(sample.get("/api/sample?label=a%0Ab"), 400)  # shown escaped: one line
    assert "no parameter 'colour'; valid: n, seed, label" in refused(sample.get("/api/sample?colour=red"), 400)
    # no label for a sampler that takes none, no direction for a one-way translator
    assert "no parameter 'label'" in refused(clients["infogan"].get("/api/sample?label=1"), 400)
    assert "no parameter 'direction'" in refused(clients["pix2pix"].post("/api/translate?direction=BtoA",
                                                                          content=png()), 400)
    explore = clients["infogan"]
    assert picture(explore.get("/api/explore?code=c2&steps=5&n=3")).size == (2 + 5 * 66, 2 + 10 * 66)
    assert "unknown code 'c9'" in refused(explore.get("/api/explore?code=c9"), 400)
    assert "low < high" in refused(explore.get("/api/explore?code=c2&low=1&high=1"), 400)


def test_translation_parameters(clients):
    cycle = clients["cyclegan"]
    forth, back = (cycle.post(f"/api/translate?direction={d}", content=png()).content for d in ("AtoB", "BtoA"))
    assert forth != back  # two generators
    star = clients["stargan"]
    info = star.get("/api/info").json()
    params = {p["name"]: p for p in info["endpoints"][0]["params"]}
    assert params["domain"]["choices"] == ["dark", "light", "thick-flipped"] and "direction" not in params
    outs = {d: star.post(f"/api/translate?domain={d}", content=png()).content for d in params["domain"]["choices"]}
    assert len(set(outs.values())) == 3
    assert star.post("/api/translate?attrs=light=1", content=png()).content == outs["light"]
    assert "unknown attribute 'blond'" in refused(star.post("/api/translate?attrs=blond=1", content=png()), 400)
    assert "exclude each other" in refused(star.post("/api/translate?attrs=dark=1,light=1", content=png()), 400)
    p2p = clients["pix2pix"]
    paper = [p2p.post(f"/api/translate?test_mode=paper&seed={s}", content=png()).content for s in (0, 0, 1)]
    assert paper[0] == paper[1] != paper[2]  # the paper's test-time dropout, drawn from the seed
    evals = [p2p.post(f"/api/translate?test_mode=eval&seed={s}", content=png()).content for s in (0, 1)]
    assert evals[0] == evals[1]  # no noise in eval mode
    assert p2p.post("/api/translate", content=png()).content == paper[0]  # a request's mode is its own


def test_uploads_in_any_mode_are_converted(clients):
    for mode in ("L", "RGBA", "P", "CMYK"):
        assert picture(clients["cyclegan"].post("/api/translate", content=png(mode=mode))).mode == "RGB"
        assert picture(clients["simgan"].post("/api/refine", content=png(mode=mode))).size == (24, 20)


def test_bad_uploads_get_a_reason_and_the_server_keeps_serving():
    client = TestClient(create_app(tiny("simgan"), Limits(max_upload_bytes=4000, max_pixels=30 * 30)))
    good = png()
    assert "request body is empty" in refused(client.post("/api/refine", content=b""), 400)
    assert "not an image" in refused(client.post("/api/refine", content=b"hello, not a picture"), 400)
    assert "truncated" in refused(client.post("/api/refine", content=good[: len(good) // 2]), 400)
    assert "too many pixels" in refused(client.post("/api/refine", content=_png_with_size(100_000, 100_000)), 413)
    assert "image too large: 31 x 30 = 930 pixels" in refused(client.post("/api/refine", content=png(31, 30)), 413)
    assert "upload too large: at most 4,000 bytes" in refused(client.post("/api/refine", content=b"x" * 4001), 413)

    def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(5):
            yield b"x" * 1000

    assert "upload too large" in refused(client.post("/api/refine", content=chunks()), 413)
    # A format Pillow knows but this server does not take: EPS would have Pillow run Ghostscript on the upload.
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    assert "in a format this server takes (PNG, JPEG" in refused(client.post("/api/refine", content=eps), 400)
    assert client.head("/api/refine").status_code == 405  # HEAD never runs the model
    assert picture(client.post("/api/refine", content=good)).size == (24, 20)


def test_an_image_too_small_for_the_network_is_a_400(clients):
    for name in ("cyclegan", "stargan"):  # ResNet generators need 8 pixels a side
        reason = refused(clients[name].post("/api/translate", content=png(1, 1)), 400)
        assert "at least 8" in reason
        assert picture(clients[name].post("/api/translate", content=png(8, 8))).size == (8, 8)


def test_a_coarse_to_fine_sampler_shows_its_levels():
    from gankit.models.lapgan import LAPGAN, LAPGANConfig

    model = Model(LAPGAN(LAPGANConfig(z_dim=8, coarse_g_hidden=16, coarse_d_hidden=16, base_channels=4),
                         DataInfo("d", 32, 1, num_classes=10)).eval())
    client = TestClient(create_app(model))
    # 4 columns, 3 levels as rows, 32-px images shown as 64-px tiles
    assert picture(client.get("/api/sample?n=4&levels=on")).size == (4 * 64 + 5 * 2, 3 * 64 + 4 * 2)
    assert "levels" in refused(client.get("/api/sample?levels=maybe"), 400)


def test_one_model_call_at_a_time():
    with pytest.raises(ValueError, match="one model call at a time"):
        Limits(workers=2)


def test_upscale_caps_the_output_pixels():
    client = TestClient(create_app(tiny("enhancenet"), Limits(max_pixels=16 * 30 * 30)))
    assert picture(client.post("/api/upscale", content=png(30, 30))).size == (120, 120)
    assert "at most 900" in refused(client.post("/api/upscale", content=png(31, 30)), 413)


def test_hostile_corpus_every_file_processed_or_refused_with_a_reason(clients, tmp_path):
    expected = make_corpus(tmp_path / "hostile")
    client = clients["simgan"]
    sent = 0
    for name, (kind, what) in expected.items():
        path = tmp_path / "hostile" / name
        if not path.is_file() or not os.access(path, os.R_OK):  # a dead or looping symlink, an unreadable file
            continue  # (made when not root): nothing a browser could upload
        response = client.post("/api/refine", content=path.read_bytes())
        sent += 1
        if kind == "load":
            assert picture(response).size == tuple(what), name
        else:
            assert response.status_code in (400, 413), name
            reason = response.json()["error"]
            assert reason.startswith("not a readable image: ") and what in reason, (name, reason)
    assert sent >= 200


def test_past_the_queue_a_model_call_is_refused_with_503(monkeypatch):
    from gankit.tasks import sample

    entered, release = threading.Event(), threading.Event()
    real = sample.sample

    def slow(*args, **kwargs):
        entered.set()
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(sample, "sample", slow)
    app = create_app(tiny("infogan"), Limits(workers=1, queue=1))
    answers = {}
    with TestClient(app) as client:
        def ask(key):
            answers[key] = client.get("/api/sample?n=2")

        first = threading.Thread(target=ask, args=("first",))
        first.start()
        assert entered.wait(10)  # one model call running
        second = threading.Thread(target=ask, args=("second",))
        second.start()
        for _ in range(1000):  # and one waiting
            if app.state.gate.admitted == 2:
                break
            threading.Event().wait(0.01)
        assert app.state.gate.admitted == 2
        busy = client.get("/api/sample?n=2")
        assert "busy: 1 model call(s) running and 1 waiting" in refused(busy, 503)
        assert busy.headers["retry-after"] == "1"
        assert client.get("/api/info").status_code == 200  # what needs no model call is still served
        release.set()
        first.join(10)
        second.join(10)
    assert answers["first"].status_code == answers["second"].status_code == 200
    assert app.state.gate.admitted == 0


def test_a_bug_is_a_500_in_one_line_and_the_server_goes_on(monkeypatch):
    from gankit.tasks import refine

    client = TestClient(create_app(tiny("simgan")))
    monkeypatch.setattr(refine, "refine", lambda *a, **k: 1 / 0)
    assert refused(client.post("/api/refine", content=png()), 500) == \
        "internal error (ZeroDivisionError); the server keeps serving"
    monkeypatch.undo()
    assert picture(client.post("/api/refine", content=png())).size == (24, 20)



def test_a_diverged_model_answers_null_not_a_500():
    model = tiny("anogan")
    with torch.no_grad():
        for p in model.system.E.parameters():
            p.fill_(float("nan"))
    response = TestClient(create_app(model)).post("/api/score?scorer=encoder", content=png())
    assert response.status_code == 200 and response.json()["score"] is None
    model = tiny("triplegan")
    with torch.no_grad():
        for p in model.system.C_avg.parameters():  # the averaged classifier answers
            p.fill_(float("nan"))
    answer = TestClient(create_app(model)).post("/api/classify", content=png()).json()
    assert answer["label"] is answer["class"] is None and set(answer["probabilities"].values()) == {None}

def test_only_local_host_names_on_loopback():
    from gankit.serve.app import allowed_hosts

    assert allowed_hosts("0.0.0.0") is None and allowed_hosts("::") is None  # every interface: any name
    assert allowed_hosts("192.168.1.5") == ["192.168.1.5"]  # a LAN address answers to itself only
    assert set(allowed_hosts("127.0.0.2")) == {"127.0.0.2", "localhost", "127.0.0.1", "::1", "[::1]"}
    app = create_app(tiny("simgan"), allowed_hosts=allowed_hosts("127.0.0.1"))
    for ok in ("http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000"):
        assert TestClient(app, base_url=ok).get("/api/info").status_code == 200, ok
    assert TestClient(app, base_url="http://evil.example").get("/api/info").status_code == 400


def test_cli_loads_once_and_binds_to_localhost(monkeypatch, tmp_path, capsys):
    import gankit.modelio
    import gankit.serve.app

    model = tiny("simgan")
    loads, served = [], []
    monkeypatch.setattr(gankit.modelio, "load", lambda path, device="cpu": loads.append(path) or model)
    monkeypatch.setattr(gankit.serve.app, "run_server", lambda *args: served.append(args))
    assert main(["serve", str(tmp_path), "--queue", "2", "--max-megapixels", "0.5"]) == 0
    (got, host, port, limits), = served
    assert loads == [str(tmp_path)] and got is model and (host, port) == ("127.0.0.1", 8000)
    assert (limits.queue, limits.max_pixels, limits.max_upload_bytes, limits.workers) == (2, 500_000, 16 * 2**20, 1)
    assert main(["serve", str(tmp_path), "--max-megapixels", "100"]) == 2
    assert "--max-megapixels must be above 0 and at most 80" in capsys.readouterr().err


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a gankit model folder" in err


def test_a_port_in_use_is_one_line(monkeypatch):
    import socket

    import gankit.serve.app

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(gankit.serve.app.GankitError, match=f"cannot listen on 127.0.0.1:{port}"):
            gankit.serve.app.make_server(tiny("simgan"), port=port)
    finally:
        holder.close()


def test_info_is_json_with_the_limits(clients):
    info = json.loads(clients["simgan"].get("/api/info").text)
    assert info["limits"] == {"max_upload_bytes": 16 * 2**20, "max_pixels": 12_000_000, "model_calls_at_once": 1,
                              "model_calls_waiting": 8}


def test_without_the_serve_extra_the_cli_says_what_to_install(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.delitem(sys.modules, "gankit.serve.app")
    for name in [m for m in sys.modules if m.split(".")[0] == "starlette"]:  # as if Starlette were not installed
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["serve", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("gankit serve: error: gankit serve needs the serve extra (starlette is not "
                                       "installed): pip install \"gankit[serve]\"\n")
