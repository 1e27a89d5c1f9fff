"""/docs and /openapi.json describe the real shapes of the answers, behind the API key."""

from __future__ import annotations

from sidecarproc import Sidecar


def test_openapi_declares_the_answers(sidecar: Sidecar) -> None:
    with sidecar.client(None) as c:
        assert c.get("/openapi.json").status_code == 401
    with sidecar.client() as c:
        spec = c.get("/openapi.json").json()
        assert c.get("/docs").status_code == 200
    schemas = spec["components"]["schemas"]
    answers = {
        ("/identify", "post"): "IdentifyOut",
        ("/identify/performer", "post"): "PerformerOut",
        ("/identify/scene", "post"): "SceneOut",
        ("/database/info", "get"): "DatabaseInfoOut",
        ("/health", "get"): "HealthOut",
        ("/images/{performer_id}", "get"): "ImageOut",
    }
    for (path, method), model in answers.items():
        ok = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"].endswith("/" + model), (path, ok)
        refused = spec["paths"][path][method]["responses"]["422"]["content"]["application/json"]
        assert refused["schema"]["$ref"].endswith("/ErrorOut"), path
    assert {"box", "score", "quality", "matches"} <= set(schemas["FaceOut"]["properties"])
    match = set(schemas["MatchOut"]["properties"])
    assert {"performer_id", "name", "distance", "tier", "stash_ids", "decided_by"} <= match
    assert {"already_on_scene", "stash_performer_id"} <= set(schemas["SceneMatchOut"]["properties"])
