"""The API's reference page at /docs, written from the app's OpenAPI schema as plain HTML: FastAPI's own
pages load their scripts from a CDN, and the studio works with no network."""

from __future__ import annotations

from html import escape


def _schema(schema: dict) -> str:
    """A parameter's type and limits in a few words."""
    if "anyOf" in schema:
        return " or ".join(_schema(s) for s in schema["anyOf"] if s.get("type") != "null") + " (optional)"
    words = [schema.get("type", "")]
    for key, shown in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"),
                       ("maxLength", "length <=")):
        if key in schema:
            words.append(f"{shown} {schema[key]}")
    return " ".join(w for w in words if w)


def page(openapi: dict) -> str:
    info = openapi.get("info", {})
    rows = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            params = "".join(
                f"<li><code>{escape(p['name'])}</code> ({escape(p.get('in', ''))}"
                f"{', required' if p.get('required') else ''}): {escape(_schema(p.get('schema', {})))}"
                f"{' = ' + escape(repr(p['schema']['default'])) if 'default' in p.get('schema', {}) else ''}"
                f"{' — ' + escape(p['description']) if p.get('description') else ''}</li>"
                for p in op.get("parameters", []))
            body = "<li>body: see the summary</li>" if "requestBody" in op else ""
            rows.append(f"<section><h2><code>{method.upper()} {escape(path)}</code></h2>"
                        f"<p>{escape(op.get('summary', ''))}</p><ul>{params}{body}</ul></section>")
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(info.get('title', 'API'))}</title>"
            "<style>body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
            "h2{font-size:1rem;margin:1.5rem 0 .3rem}code{background:#f3f3f3;padding:0 .2rem}</style>"
            f"<h1>{escape(info.get('title', 'API'))}</h1><p>{escape(info.get('description', ''))} Errors are JSON "
            "<code>{\"detail\": \"one line naming the parameter\"}</code>. The schema: "
            "<a href=/openapi.json>/openapi.json</a>.</p>" + "".join(rows) + "</html>")
