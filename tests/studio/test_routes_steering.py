"""The steering and projection endpoints through the studio app (FastAPI's test client), good and bad input."""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.latent.directions import load_direction
from gankit.nets.autoencoder import codes
from gankit.sampling import latents
from gankit.studio import projection, steering
from tests.studio.conftest import make_client, open_session


@pytest.fixture(scope="module")
def session(dcgan_export):
    """A session of its own: these tests add taught directions to it."""
    return open_session(export=dcgan_export)


@pytest.fixture(scope="module")
def api(session):
    with make_client(session) as c:
        yield c


def listed(api):
    answer = api.get("/api/directions")
    assert answer.status_code == 200, answer.text
    return {d["name"]: d for d in answer.json()["directions"]}


def test_directions_lists_sefa_and_pca_computed_once_per_model(api, session):
    found = listed(api)
    assert [n for n in found if n.startswith("sefa-")] == [f"sefa-{i}" for i in range(8)]
    assert [n for n in found if n.startswith("pca-")] == [f"pca-{i}" for i in range(8)]
    assert not [n for n in found if found[n]["kind"] == "coordinate"]  # z_dim 100: no per-coordinate sliders
    assert found["sefa-0"] == {"name": "sefa-0", "kind": "sefa", "label": "SeFa 1",
                               "score": pytest.approx(found["sefa-0"]["score"])}
    assert 0 < found["sefa-1"]["score"] <= found["sefa-0"]["score"] < 1
    G = session.generator
    (expected, share), = steering.sefa(G.net, G.z_dim, k=1)
    one = api.get("/api/directions/sefa-0").json()
    assert one["kind"] == "sefa" and one["score"] == pytest.approx(share)
    assert torch.allclose(torch.tensor(one["vector"]), expected, atol=1e-6)
    first = session.directions["pca-0"][1]
    listed(api)
    assert session.directions["pca-0"][1] is first  # not computed again for the same model


def test_directions_are_computed_again_when_the_session_loads_another_model(api, session):
    listed(api)
    before = session.directions["sefa-0"][1]
    session.version += 1  # what Session.reload_if_newer does when the run's newest checkpoint changes
    assert listed(api)["sefa-0"]["kind"] == "sefa"
    assert session.directions["sefa-0"][1] is not before


def test_small_latents_get_per_coordinate_directions(small_z_run):
    with make_client(open_session(run=small_z_run)) as c:
        found = listed(c)
        assert [n for n, d in found.items() if d["kind"] == "coordinate"] == ["z0", "z1", "z2", "z3"]
        assert c.get("/api/directions/z2").json()["vector"] == [0.0, 0.0, 1.0, 0.0]
        assert c.get("/api/image", params={"seed": 1, "edits": "z2:1.5,sefa-0:-1"}).status_code == 200


def test_an_unknown_direction_is_404_naming_it(api):
    answer = api.get("/api/directions/nope")
    assert answer.status_code == 404 and "direction 'nope'" in answer.json()["detail"]


def marked(z_dim=100, n=4):
    """Recipes of seeds whose latents have a large (positive) or small (negative) first coordinate."""
    pos, neg = [], []
    for seed in range(200):
        z0 = float(latents(1, z_dim, seed)[0, 0])
        if z0 > 0.8 and len(pos) < n:
            pos.append({"seed": seed})
        elif z0 < -0.8 and len(neg) < n:
            neg.append({"seed": seed, "truncation": 0.9})
    return pos, neg


def test_teaching_from_marked_images_gives_a_direction_that_edits_images(api, session):
    pos, neg = marked()
    answer = api.post("/api/directions/teach", json={"name": "bright", "positive": pos, "negative": neg})
    assert answer.status_code == 200, answer.text
    fit = answer.json()
    assert fit == {"name": "bright", "kind": "taught", "val_accuracy": fit["val_accuracy"],
                   "train_accuracy": 1.0, "validation": "leave-one-out", "n_positive": 4, "n_negative": 4,
                   "saved": None}
    assert listed(api)["bright"] == {"name": "bright", "kind": "taught", "label": "bright",
                                     "score": fit["val_accuracy"]}
    vector = torch.tensor(api.get("/api/directions/bright").json()["vector"])
    assert float(vector.norm()) == pytest.approx(1.0, abs=1e-5)
    z = lambda r: session.final_latent(session.check_recipe(r))  # noqa: E731
    assert all(float(z(p) @ vector) > float(z(n) @ vector) for p in pos for n in neg)  # towards the positives
    edited = api.get("/api/image", params={"seed": 0, "edits": "bright:2"})
    plain = api.get("/api/image", params={"seed": 0})
    assert edited.status_code == 200 and edited.content != plain.content
    again = api.post("/api/directions/teach", json={"name": "bright", "positive": neg, "negative": pos})
    assert again.status_code == 200  # a taught name may be taught again; it now points the other way
    assert float(torch.tensor(api.get("/api/directions/bright").json()["vector"]) @ vector) < 0


@pytest.mark.parametrize("body, status, start", [
    ({"name": "x", "positive": [{"seed": 1}], "negative": [{"seed": 2}, {"seed": 3}]}, 422,
     "positive: mark at least 2 images (1 given)"),
    ({"name": "x", "positive": [{"seed": 1}, {"seed": -4}], "negative": [{"seed": 2}, {"seed": 3}]}, 422,
     "positive[1].seed"),
    ({"name": "x", "positive": [{"seed": 1}, {"seed": 4}], "negative": [{"seed": 2}, {"z": [1.0]}]}, 422,
     "negative[1].z"),
    ({"name": "x", "positive": "all", "negative": []}, 422, "positive: a list of recipes"),
    ({"name": "../up", "positive": [], "negative": []}, 422, "name '../up'"),
    ({"name": "sefa-0", "positive": [], "negative": []}, 409, "name 'sefa-0': already a sefa direction"),
    ({"name": "x", "positive": [], "negative": [], "save": "yes"}, 422, "save: 'yes'"),
    ({"name": "x", "positive": [], "negative": [], "save": True}, 400, "save: the studio was started without"),
    ([1, 2], 422, "body: a JSON object"),
])
def test_teach_refuses_bad_input_naming_the_parameter(api, body, status, start):
    answer = api.post("/api/directions/teach", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"].startswith(start)


def test_teach_refuses_a_body_that_is_not_json(api):
    answer = api.post("/api/directions/teach", content=b"{nope", headers={"content-type": "application/json"})
    assert answer.status_code == 422 and answer.json()["detail"].startswith("body: not valid JSON")


def test_a_saved_taught_direction_is_a_directions_file_the_next_studio_loads(dcgan_export, tmp_path):
    session = open_session(export=dcgan_export, directions=tmp_path)
    pos, neg = marked()
    with make_client(session) as c:
        answer = c.post("/api/directions/teach", json={"name": "wide", "positive": pos, "negative": neg,
                                                       "save": True})
        assert answer.status_code == 200, answer.text
        assert answer.json()["saved"] == "wide.npy"
        vector = torch.tensor(c.get("/api/directions/wide").json()["vector"])
    assert torch.allclose(load_direction(tmp_path / "wide.npy", 100), vector)
    info = json.loads((tmp_path / "wide.json").read_text())
    assert info["n_positive"] == 4 and info["validation"] == "leave-one-out" and info["model"]["recipe"] == "dcgan"
    with make_client(open_session(export=dcgan_export, directions=tmp_path)) as c:
        assert listed(c)["wide"]["kind"] == "saved"


def png_of(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_projecting_an_image_gives_a_job_whose_recipe_draws_it(api, session):
    drawn = api.get("/api/image", params={"seed": 11}).content
    answer = api.post("/api/project", files={"file": ("drawn.png", drawn, "image/png")}, data={"steps": "20"})
    assert answer.status_code == 200, answer.text
    job = answer.json()["job"]
    state = api.get(f"/api/project/{job}").json()
    assert state["state"] in ("running", "done") and state["steps"] == 20
    state = api.app.state.projection_jobs.wait(job)
    assert state["state"] == "done" and state["step"] == 20 and state["error"] is None
    recipe = api.get(f"/api/project/{job}").json()["recipe"]
    assert recipe["seed"] is None and len(recipe["z"]) == 100 and recipe["edits"] == []
    assert recipe["model"] == session.model_stamp()
    target = projection.to_model_image(Image.open(io.BytesIO(drawn)), session.generator.shape)
    redrawn = session.render_latents(torch.tensor([recipe["z"]]))
    assert float(((redrawn - target) ** 2).mean()) == pytest.approx(state["loss"], rel=1e-3, abs=1e-6)
    assert api.post("/api/image", json=recipe).status_code == 200  # editable like any image


def test_one_projection_at_a_time_and_a_running_one_can_be_cancelled(api):
    image = png_of(np.zeros((28, 28), dtype=np.uint8))
    first = api.post("/api/project", files={"file": ("a.png", image)}, data={"steps": "5000"}).json()["job"]
    second = api.post("/api/project", files={"file": ("b.png", image)})
    assert second.status_code == 429 and "already running" in second.json()["detail"]
    assert api.delete(f"/api/project/{first}").json() == {"job": first, "cancelled": True}
    state = api.app.state.projection_jobs.wait(first)
    assert state["state"] == "failed" and state["error"] == "cancelled" and state["step"] < 5000
    last = api.post("/api/project", files={"file": ("b.png", image)}, data={"steps": "1"})
    assert last.status_code == 200
    assert api.app.state.projection_jobs.wait(last.json()["job"])["state"] == "done"  # the next test starts idle


@pytest.mark.parametrize("files, data, status, start", [
    (None, {"steps": "3"}, 422, "file: upload the image"),
    ({"file": ("x.png", b"not an image at all")}, {}, 422, "file: not a readable image"),
    ({"file": ("x.png", "PNG")}, {"steps": "0"}, 422, "steps: '0'"),
    ({"file": ("x.png", "PNG")}, {"steps": "many"}, 422, "steps: 'many'"),
    ({"file": ("x.png", "PNG")}, {"class": "1"}, 422, "class: this model is not class-conditional"),
    ({"file": ("x.png", "BIG")}, {}, 413, "file: 5000x5000 pixels"),
])
def test_project_refuses_bad_uploads_naming_the_field(api, files, data, status, start):
    if files and files["file"][1] == "PNG":
        files = {"file": ("x.png", png_of(np.zeros((28, 28), dtype=np.uint8)))}
    elif files and files["file"][1] == "BIG":
        files = {"file": ("x.png", png_of(np.zeros((5000, 5000), dtype=np.uint8)))}
    answer = api.post("/api/project", files=files, data=data) if files else api.post("/api/project", data=data)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"].startswith(start)


def test_project_needs_multipart_and_an_unknown_job_is_404(api):
    answer = api.post("/api/project", json={"file": "x"})
    assert answer.status_code == 422 and answer.json()["detail"].startswith("file:")
    for method in (api.get, api.delete):
        missing = method("/api/project/abc")
        assert missing.status_code == 404 and missing.json()["detail"].startswith("job 'abc'")


def test_an_autoencoder_projects_with_its_encoder_at_once(vae_run):
    session = open_session(run=vae_run)
    rgb = np.zeros((40, 30, 3), dtype=np.uint8)  # RGB and another size: converted and resized for the model
    rgb[10:30, 5:25] = 200
    with make_client(session) as c:
        answer = c.post("/api/project", files={"file": ("x.png", png_of(rgb))})
        assert answer.status_code == 200, answer.text
        job = answer.json()["job"]
        state = c.get(f"/api/project/{job}").json()
    assert state["state"] == "done"
    x = projection.to_model_image(Image.fromarray(rgb), session.generator.shape)
    assert state["recipe"]["z"] == [float(np.float32(v)) for v in codes(session.generator.net, x)[0]]


def test_directions_are_computed_at_start_up_so_a_recipe_may_edit_along_them_at_once(dcgan_export):
    import time

    session = open_session(export=dcgan_export)
    with make_client(session) as c:
        end = time.monotonic() + 20
        while "pca-7" not in session.directions and time.monotonic() < end:
            time.sleep(0.02)
        answer = c.post("/api/image", json={"seed": 2, "edits": [{"direction": "pca-7", "alpha": 2.0}]})
        assert answer.status_code == 200, answer.text


def test_a_conditional_model_is_steered_and_projected_within_a_class(cond_run):
    session = open_session(run=cond_run)
    with make_client(session) as c:
        (expected, _), = steering.sefa(session.generator.net, session.generator.z_dim, 10, k=1)
        one = c.get("/api/directions/sefa-0").json()
        assert torch.allclose(torch.tensor(one["vector"]), expected, atol=1e-6)
        image = c.get("/api/image", params={"seed": 5, "class": 3}).content
        job = c.post("/api/project", files={"file": ("x.png", image)}, data={"steps": "2", "class": "3"}).json()
        state = c.app.state.projection_jobs.wait(job["job"])
        assert state["state"] == "done" and state["recipe"]["class"] == 3
        bad = c.post("/api/project", files={"file": ("x.png", image)}, data={"class": "10"})
        assert bad.status_code == 422 and bad.json()["detail"].startswith("class: '10'")


def test_directions_computed_for_a_model_replaced_meanwhile_are_dropped(dcgan_export, monkeypatch):
    from gankit.studio import routes_steering

    session = open_session(export=dcgan_export)
    real = steering.unsupervised

    def reloaded_meanwhile(*args, **kwargs):
        found = real(*args, **kwargs)
        session.version += 1  # a newer checkpoint was loaded while these were computed
        return found

    monkeypatch.setattr(steering, "unsupervised", reloaded_meanwhile)
    routes_steering.ensure_unsupervised(session)
    assert "sefa-0" not in session.directions
    monkeypatch.setattr(steering, "unsupervised", real)
    routes_steering.ensure_unsupervised(session)
    assert session.directions["sefa-0"][0] == "sefa"


def test_a_points_model_has_directions_but_no_projection():
    from gankit.inference import Generator
    from gankit.nets.mlp import MLPGenerator
    from gankit.studio.session import Session

    torch.manual_seed(0)
    meta = {"z_dim": 3, "shape": [2], "kind": "points", "recipe": "gan"}
    G = Generator(MLPGenerator(z_dim=3, hidden=(8,)).eval(), meta)
    with make_client(Session(G, source={"export": "points"})) as c:
        assert {"sefa-0", "pca-0", "z0", "z1", "z2"} <= set(listed(c))
        answer = c.post("/api/project", files={"file": ("x.png", png_of(np.zeros((4, 4), dtype=np.uint8)))})
        assert answer.status_code == 422 and "projection needs an image model" in answer.json()["detail"]


def test_the_steering_endpoints_are_in_the_openapi_page(api):
    paths = api.get("/openapi.json").json()["paths"]
    assert {"get"} <= set(paths["/api/directions"]) and {"get"} <= set(paths["/api/directions/{name}"])
    assert "post" in paths["/api/directions/teach"] and "post" in paths["/api/project"]
    assert {"get", "delete"} <= set(paths["/api/project/{job}"])
