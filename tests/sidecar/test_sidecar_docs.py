"""/docs and /openapi.json describe the real shapes of the answers, behind the API key."""

from __future__ import annotations

from sidecarproc import Sidecar


def test_openapi_declares_the_answers(sidecar: Sidecar) -> None:
    with sidecar.client(None) as c:
        assert c.get("/openapi.json").status_code == 401
    with sidecar.client() as c:
        spec = c.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    answers = {
        ("/identify", "post"): "ImageResult",
        ("/identify/performer", "post"): "PerformerResult",
        ("/identify/scene", "post"): "StashSceneResult",
        ("/database/info", "get"): "DatabaseInfo",
        ("/health", "get"): "HealthOut",
        ("/images/{performer_id}", "get"): "Picture",
    }
    for (path, method), model in answers.items():
        ok = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["$ref"].endswith("/" + model), (path, ok)
        refused = spec["paths"][path][method]["responses"]["422"]["content"]["application/json"]
        assert refused["schema"]["$ref"].endswith("/ErrorOut"), path
    assert {"box", "score", "quality", "matches"} <= set(schemas["FaceResult"]["properties"])
    match = set(schemas["MatchResult"]["properties"])
    assert {"performer_id", "name", "distance", "tier", "stash_ids", "decided_by"} <= match
    assert {"already_on_scene", "stash_performer_id"} <= set(
        schemas["SceneMatchResult"]["properties"]
    )


def test_the_docs_page_loads_nothing_from_the_internet(sidecar: Sidecar) -> None:
    """Swagger UI's script and style come from the sidecar itself (swagger-ui-bundle), not from
    a CDN: the page works offline and runs no third-party script beside the API key."""
    with sidecar.client(None) as c:
        assert c.get("/docs").status_code == 401
    with sidecar.client() as c:
        page = c.get("/docs")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "http://" not in page.text and "https://" not in page.text
        assert 'src="/docs/assets/swagger-ui-bundle.js"' in page.text
        script = c.get("/docs/assets/swagger-ui-bundle.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert len(script.content) > 100_000
        assert c.get("/docs/assets/swagger-ui.css").status_code == 200
        for name in ("index.html", "..%2f..%2f__init__.py", "swagger-ui.js.map"):
            assert c.get("/docs/assets/" + name).status_code == 404
