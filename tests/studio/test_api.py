"""The studio's API through FastAPI's test client (and a real server for what only a socket shows): every
endpoint with good and bad input, the round trip of a downloaded PNG, path traversal, upload limits, the Host
check, and errors that leave the server up."""

import io
import json
import threading

import httpx2
import numpy as np
import pytest
import torch
from PIL import Image

from gankit.studio import pngmeta
from tests.studio.conftest import TEST_PORT, make_client, open_session, serving
from tests.studio.test_pngmeta import claiming, png_of


def chunk(png: bytes) -> dict:
    return json.loads(Image.open(io.BytesIO(png)).info["gankit"])


def pixels(png: bytes) -> list:
    return np.asarray(Image.open(io.BytesIO(png))).tolist()


@pytest.fixture(scope="module")
def cond_client(cond_run):
    with make_client(open_session(run=cond_run)) as c:
        yield c


def test_model_describes_what_is_served(client, cond_client):
    model = client.get("/api/model").json()
    assert model["z_dim"] == 100 and model["shape"] == [1, 28, 28] and model["kind"] == "image"
    assert model["num_classes"] == 0 and model["live"] is False and model["has_encoder"] is False
    assert len(model["sha256"]) == 64 and model["source"].startswith("--export ")
    model = cond_client.get("/api/model").json()
    assert model["num_classes"] == 10 and model["class_names"][8] == "Bag" and model["live"] is True


def test_an_image_is_a_png_carrying_its_recipe_and_latent(client):
    response = client.get("/api/image?seed=7&truncation=0.7")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (28, 28) and image.mode == "L"
    recipe = chunk(response.content)
    assert recipe["seed"] == 7 and recipe["truncation"] == 0.7 and len(recipe["latent"]) == 100
    assert len(recipe["model"]["sha256"]) == 64
    assert client.get("/api/image?seed=7&truncation=0.7").content == response.content
    assert client.get("/api/image?seed=8&truncation=0.7").content != response.content


def test_a_downloaded_png_reproduces_itself_exactly(client, export_session):
    direction = torch.nn.functional.normalize(torch.arange(100.0), dim=0)
    export_session.directions["api-test"] = ("taught", direction, {})
    try:
        png = client.get("/api/image?seed=21&truncation=0.6&edits=api-test:1.5").content
        recipe = client.post("/api/reproduce", files={"file": ("x.png", png, "image/png")}).json()
        assert recipe["edits"] == [{"direction": "api-test", "alpha": 1.5}] and recipe["seed"] == 21
        assert client.post("/api/image", json=recipe).content == png
        as_file = client.post("/api/reproduce", files={"file": ("r.json", json.dumps(recipe), "application/json")})
        assert client.post("/api/image", json=as_file.json()).content == png
        assert client.post("/api/reproduce", json=chunk(png)).json() == recipe  # pasted JSON
        latent = client.post("/api/latent", json=recipe).json()["latent"]
        assert latent == chunk(png)["latent"]
        by_latent = client.post("/api/image", json={"z": latent}).content  # the final latent as a base, untouched
        assert pixels(by_latent) == pixels(png) and chunk(by_latent)["z"] == latent
    finally:
        del export_session.directions["api-test"]


def test_z_in_the_query_overrides_the_seed(client):
    z = ",".join(["0.5"] * 100)
    by_query = client.get(f"/api/image?seed=3&z={z}").content
    assert chunk(by_query)["z"] == [0.5] * 100 and chunk(by_query)["seed"] == 3
    assert pixels(by_query) == pixels(client.post("/api/image", json={"z": [0.5] * 100}).content)
    assert pixels(by_query) != pixels(client.get("/api/image?seed=3").content)


def test_the_latent_as_npy(client):
    response = client.post("/api/latent.npy", json={"seed": 4, "truncation": 0.5})
    array = np.load(io.BytesIO(response.content), allow_pickle=False)
    assert array.shape == (1, 100) and array.dtype == np.float32
    assert array[0].tolist() == client.post("/api/latent", json={"seed": 4, "truncation": 0.5}).json()["latent"]
    assert 'filename="gankit-seed4.npy"' in response.headers["content-disposition"]


def test_the_gallery_pages_seeds_and_cycles_classes(client, cond_client):
    page = client.get("/api/gallery?page=2&per_page=5&truncation=0.8").json()
    assert [item["seed"] for item in page["items"]] == [10, 11, 12, 13, 14] and page["page"] == 2
    assert all(item["class"] is None and item["truncation"] == 0.8 for item in page["items"])
    assert client.get(page["items"][0]["url"]).content == client.get("/api/image?seed=10&truncation=0.8").content
    items = cond_client.get("/api/gallery?per_page=12").json()["items"]
    assert [item["class"] for item in items] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert all(item["class"] == 4 for item in cond_client.get("/api/gallery?class=4").json()["items"])
    assert cond_client.get(items[3]["url"]).status_code == 200


def test_a_walk_is_a_strip_or_a_gif(client, cond_client):
    strip = Image.open(io.BytesIO(client.get("/api/interpolate?seeds=1,5,9&steps=4").content))
    assert strip.size == (7 * 30 + 2, 32)  # (3 - 1) * (4 - 1) + 1 frames of 28 pixels, 2 apart
    gif = Image.open(io.BytesIO(client.get("/api/interpolate?seeds=1,5&steps=3&method=lerp&format=gif").content))
    assert gif.format == "GIF" and gif.n_frames == 3 and gif.size == (140, 140)
    posted = client.post("/api/interpolate", json={"recipes": [{"seed": 1}, {"seed": 5}, {"seed": 9}], "steps": 4})
    assert posted.content == client.get("/api/interpolate?seeds=1,5,9&steps=4").content
    assert cond_client.get("/api/interpolate?seeds=1,2&steps=2&class=3").status_code == 200


def test_mixing_two_parents(client):
    a, b = {"seed": 1}, {"seed": 2, "truncation": 0.5}
    children = client.post("/api/mix", json={"a": a, "b": b, "n": 4, "seed": 3}).json()["children"]
    assert len(children) == 4 and client.post("/api/mix", json={"a": a, "b": b, "n": 4, "seed": 3}).json()[
        "children"] == children
    za, zb = (torch.tensor(client.post("/api/latent", json=r).json()["latent"]) for r in (a, b))
    for child in children:
        z = torch.tensor(child["z"])
        assert z.norm().item() == pytest.approx(((za.norm() + zb.norm()) / 2).item(), rel=1e-4)
        assert any(torch.all(torch.isclose(z, s * za, rtol=1e-4) | torch.isclose(z, s * zb, rtol=1e-4))
                   for s in (z[0] / za[0], z[0] / zb[0]))  # each coordinate from one parent, rescaled
        assert client.post("/api/image", json=child).status_code == 200
    assert len({tuple(c["z"]) for c in children}) == 4


BAD = [  # method, url, JSON body, status, the start of the message
    ("get", "/api/image?seed=-1", None, 422, "query parameter seed"),
    ("get", "/api/image?seed=abc", None, 422, "query parameter seed"),
    ("get", "/api/image", None, 422, "seed: give a seed or a latent z"),
    ("get", "/api/image?seed=1&truncation=nan", None, 422, "query parameter truncation"),
    ("get", "/api/image?seed=1&truncation=5", None, 422, "query parameter truncation"),
    ("get", "/api/image?z=1,2,3", None, 422, "z: a list of 100 numbers"),
    ("get", "/api/image?z=1,x", None, 422, "z: comma-separated numbers"),
    ("get", "/api/image?seed=1&class=2", None, 422, "class: this model is not class-conditional"),
    ("get", "/api/image?seed=1&edits=nope:1", None, 422, "edits[0].direction: 'nope'"),
    ("get", "/api/image?seed=1&edits=nope", None, 422, "edits: 'nope': use name:alpha"),
    ("get", "/api/image?seed=1&edits=a:b", None, 422, "edits: 'a:b': alpha"),
    ("get", "/api/image?seed=99999999999999999999", None, 422, "query parameter seed"),
    ("post", "/api/image", "not json", 422, "body: not valid JSON"),
    ("post", "/api/image", [1], 422, "recipe: a JSON object is needed"),
    ("post", "/api/image", "[" * 100_000, 422, "body: JSON nested too deeply"),
    ("post", "/api/image", '{"seed": 1' + "0" * 5000 + "}", 422, "body: not valid JSON"),
    ("post", "/api/image", b'{"seed": "\xff"}', 422, "body: not valid JSON"),
    ("post", "/api/image", {"seed": 1, "z": [1e9] * 100}, 422, "z[0]: 1e+09 is outside"),
    ("post", "/api/latent", {"seed": "1"}, 422, "seed: '1' is not a whole number"),
    ("post", "/api/latent.npy", {}, 422, "seed: give a seed"),
    ("get", "/api/gallery?per_page=0", None, 422, "query parameter per_page"),
    ("get", "/api/gallery?per_page=1000", None, 422, "query parameter per_page"),
    ("get", "/api/gallery?page=-1", None, 422, "query parameter page"),
    ("get", "/api/gallery?class=1", None, 422, "class: 1: this model has no classes"),
    ("get", "/api/interpolate", None, 422, "query parameter seeds"),
    ("get", "/api/interpolate?seeds=1", None, 422, "seeds: 1 images"),
    ("get", "/api/interpolate?seeds=1,x", None, 422, "seeds: comma-separated whole numbers"),
    ("get", "/api/interpolate?seeds=" + ",".join(map(str, range(17))), None, 422, "seeds: 17 seeds"),
    ("get", "/api/interpolate?seeds=1,2&steps=1", None, 422, "query parameter steps"),
    ("get", "/api/interpolate?seeds=1,2,3,4&steps=200", None, 422, "steps: 200 per leg makes 598 frames"),
    ("get", "/api/interpolate?seeds=1,2&method=cubic", None, 422, "method: 'cubic'"),
    ("get", "/api/interpolate?seeds=1,2&format=bmp", None, 422, "format: 'bmp'"),
    ("post", "/api/interpolate", {"recipes": [{"seed": 1}, {}]}, 422, "recipes[1].seed"),
    ("post", "/api/interpolate", {"recipes": "x"}, 422, "recipes: a JSON object with a list"),
    ("post", "/api/interpolate", {"recipes": [{"seed": 1}] * 2, "steps": "8"}, 422, "steps: '8'"),
    ("post", "/api/mix", {"a": {"seed": 1}}, 422, "b: a JSON object is needed"),
    ("post", "/api/mix", {"a": {"seed": 1}, "b": {"seed": -2}}, 422, "b.seed: -2 is outside"),
    ("post", "/api/mix", {"a": {"seed": 1}, "b": {"seed": 2}, "n": 0}, 422, "n: 0 is outside"),
    ("post", "/api/mix", {"a": {"seed": 1}, "b": {"seed": 2}, "seed": -1}, 422, "seed: -1 is outside"),
    ("post", "/api/reproduce", {"seed": 1, "truncation": -1}, 422, "truncation: -1 is outside"),
    ("get", "/api/live/state", None, 404, "live view: only for a run folder"),
    ("get", "/api/live/stats", None, 404, "live view: only for a run folder"),
    ("get", "/api/live/snapshot/0", None, 404, "live view: only for a run folder"),
    ("get", "/api/live/events", None, 404, "live view: only for a run folder"),
    ("get", "/api/nothing", None, 404, "Not Found"),
    ("delete", "/api/model", None, 405, "Method Not Allowed"),
]


@pytest.mark.parametrize("method,url,body,status,message", BAD)
def test_bad_input_is_a_4xx_naming_the_parameter(client, method, url, body, status, message):
    kwargs = {} if body is None else {"content": body} if isinstance(body, (str, bytes)) else {"json": body}
    response = client.request(method.upper(), url, **kwargs)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.startswith(message), detail


@pytest.mark.parametrize("data,status,message", [
    (png_of(4, 4), 422, "file: a PNG without a gankit recipe"),
    (b"\x00\x01", 422, "file: neither a studio PNG nor a JSON recipe"),
    (png_of(4097, 4097), 413, "file: 4097x4097 pixels"),
    (claiming(60_000, 60_000), 413, "file: refused as a decompression bomb"),
    (b"x" * (pngmeta.MAX_BYTES + 10), 413, "request body: over the limit"),
], ids=["no-chunk", "garbage", "pixels", "bomb", "bytes"])
def test_bad_uploads(client, data, status, message):
    response = client.post("/api/reproduce", files={"file": ("x.png", data, "image/png")})
    assert response.status_code == status and response.json()["detail"].startswith(message), response.text


def test_the_png_names_the_model_that_drew_it_whatever_the_recipe_claims(client):
    png = client.post("/api/image", json={"seed": 1, "model": {"sha256": "x" * 10_000}}).content
    assert chunk(png)["model"] == client.post("/api/latent", json={"seed": 1}).json()["recipe"]["model"]
    assert len(png) < 5000


def test_an_upload_in_another_field_is_named(client):
    response = client.post("/api/reproduce", files={"image": ("x.png", b"{}", "image/png")})
    assert response.status_code == 422 and response.json()["detail"].startswith("file: upload")


def test_a_body_over_the_limit_is_refused_before_it_is_read(export_session):
    with make_client(export_session, max_bytes=1000) as small:
        assert small.post("/api/image", json={"seed": 1}).status_code == 200
        response = small.post("/api/image", json={"seed": 1, "pad": "x" * 2000})
        assert response.status_code == 413 and "1,000 bytes" in response.json()["detail"]

        def chunks():  # no Content-Length: counted as it arrives
            yield b'{"seed": 1, "pad": "'
            for _ in range(10):
                yield b"x" * 200
            yield b'"}'

        response = small.post("/api/image", content=chunks())
        assert response.status_code == 413


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/%2e%2e%2fapp.py", "/static/%252e%252e%252fapp.py", "/static/..%2F..%2Fstudio%2Fapp.py",
    "/static/%2e%2e/%2e%2e/__init__.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd", "/static/....//app.py",
    "/%2e%2e/%2e%2e/etc/passwd", "/static/.%2e/session.py", "/api/live/snapshot/..%2f..%2fconfig.json",
    "/static/index.html%00.py", "/static/static/index.html",
])
def test_no_path_from_a_request_reaches_the_file_system(client, path):
    response = client.get(path)
    assert response.status_code in (404, 422), (path, response.status_code)
    assert b"import" not in response.content and b"root:" not in response.content


def test_only_the_enumerated_page_files_are_served(client):
    from gankit.studio.app import STATIC, static_files

    files = static_files()
    assert {"index.html", "studio.js", "studio.css"} <= set(files) <= {p.name for p in STATIC.iterdir()}
    for name, (data, media) in files.items():
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.content == data and response.headers["content-type"] == media
    assert files["studio.js"][1].startswith("text/javascript")
    assert client.get("/").status_code == 200 and "text/html" in client.get("/").headers["content-type"]
    assert client.get("/openapi.json").json()["paths"]["/api/image"]
    docs = client.get("/docs").text
    assert "<code>GET /api/image</code>" in docs and "<code>POST /api/reproduce</code>" in docs
    assert "<script" not in docs and "http" not in docs.replace('href=/openapi.json', "")  # works offline


@pytest.mark.parametrize("host,status", [
    (f"127.0.0.1:{TEST_PORT}", 200), (f"localhost:{TEST_PORT}", 200), (f"[::1]:{TEST_PORT}", 200),
    ("evil.example", 421), (f"evil.example:{TEST_PORT}", 421), ("127.0.0.1:1", 421), ("127.0.0.1", 421),
    ("", 421), (f"localhost:{TEST_PORT}.evil.example", 421),
])
def test_the_host_header_is_checked(client, host, status):
    response = client.get("/api/model", headers={"host": host})
    assert response.status_code == status
    if status == 421:
        assert "Host header" in response.json()["detail"]


@pytest.mark.parametrize("origin,status", [
    (f"http://127.0.0.1:{TEST_PORT}", 200), (f"http://localhost:{TEST_PORT}", 200), ("https://evil.example", 403),
    ("null", 403), (f"http://127.0.0.1:{TEST_PORT + 1}", 403),
])
def test_another_sites_page_cannot_post(client, origin, status):
    response = client.post("/api/latent", content=json.dumps({"seed": 1}), headers={"origin": origin,
                                                                                    "content-type": "text/plain"})
    assert response.status_code == status
    if status == 403:
        assert response.json()["detail"].startswith(f"Origin header {origin!r}")


def test_an_unexpected_error_is_a_500_line_and_the_server_stays_up(dcgan_export, monkeypatch):
    session = open_session(export=dcgan_export)
    with serving(session) as url:
        monkeypatch.setattr(session, "final_latent", lambda recipe: 1 / 0)
        response = httpx2.post(f"{url}/api/latent", json={"seed": 1})
        assert response.status_code == 500
        assert response.json() == {"detail": "internal error: ZeroDivisionError: division by zero"}
        monkeypatch.undo()
        assert httpx2.post(f"{url}/api/latent", json={"seed": 1}).status_code == 200
        assert httpx2.get(f"{url}/api/model", headers={"host": "evil.example"}).status_code == 421


def test_a_real_server_batches_concurrent_requests_to_the_same_bytes(dcgan_export):
    session = open_session(export=dcgan_export)
    with serving(session) as url:
        urls = [f"{url}/api/image?seed={s}&truncation=0.9" for s in range(16)]
        alone = [httpx2.get(u).content for u in urls]
        calls, together, barrier = session.batcher.calls, [None] * 16, threading.Barrier(16)

        def fetch(i):
            barrier.wait()
            together[i] = httpx2.get(urls[i]).content

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert together == alone and session.batcher.calls - calls < 16


def test_a_points_model_says_it_draws_no_images(make_run):
    with make_client(open_session(run=make_run("nsgan", data="ring8"))) as c:
        model = c.get("/api/model").json()
        assert model["kind"] == "points" and model["shape"] == [2]
        for url in ("/api/image?seed=1", "/api/interpolate?seeds=1,2"):
            response = c.get(url)
            assert response.status_code == 422 and response.json()["detail"].startswith("model: this model draws 2-D")
        assert len(c.post("/api/latent", json={"seed": 1}).json()["latent"]) == model["z_dim"]
