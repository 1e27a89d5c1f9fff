"""The `docker run` / `docker exec` commands of docs/releases.md's "Docker" section, as written
there, with the names and placeholders of docker/smoke-test.sh put in; one command a line.

Run by docker/smoke-test.sh, so that the smoke test runs the documented lines themselves and
fails when they change into something it does not know (an unknown option, a placeholder it
cannot fill), instead of running a copy that drifts from the docs:

    python3 docker/doc_commands.py --image I --container C --volume V --port P --keys FILE \
        --stash-url URL --api-key KEY --index URL

Standard library only.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "releases.md"
DOCUMENTED_NAME = "stash-sense"
# the `docker run` options the documented lines use, with a value / without one
VALUED = {"-v", "-e", "-p", "--name", "--user"}
FLAGS = {"-d", "--rm"}


def docker_section(text: str) -> str:
    start = text.index("\n### Docker\n")
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


def documented_commands(section: str) -> list[str]:
    """The fenced block's `docker run` lines (continuations joined), then the inline
    `docker exec ...` / `docker run ...` spans, in the order they are written."""
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    if block is None:
        raise SystemExit("docs/releases.md: no ```bash block in the Docker section")
    joined = block.group(1).replace("\\\n", " ")
    commands = [" ".join(line.split()) for line in joined.splitlines()]
    commands = [c for c in commands if c.startswith("docker run ")]
    prose = section[block.end() :].replace("\n", " ")
    spans = re.findall(r"`(docker (?:exec|run) [^`]+)`", prose)
    # `docker exec ... db update` (an abbreviation in the prose) is not a command
    return commands + [" ".join(s.split()) for s in spans if "..." not in s]


def fill(command: str, args: argparse.Namespace) -> str:
    """The command with this run's names, port and values in place of the documented ones."""
    # a placeholder such as `<stash host>` is one word, filled in below
    tokens = shlex.split(re.sub(r"<[^<>]+>", lambda m: m[0].replace(" ", "_"), command))
    if tokens[:2] == ["docker", "exec"]:
        if tokens[2] != DOCUMENTED_NAME:
            raise SystemExit(f"docs/releases.md: unexpected container in {command!r}")
        return shlex.join(["docker", "exec", args.container, *tokens[3:]])
    if tokens[:2] != ["docker", "run"]:
        raise SystemExit(f"docs/releases.md: not a docker run/exec line: {command!r}")
    out = ["docker", "run"]
    rest = tokens[2:]
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in FLAGS:
            out.append(option)
            continue
        if option not in VALUED or not rest:
            raise SystemExit(f"docs/releases.md: option {option} unknown to the smoke test")
        out += [option, fill_value(option, rest.pop(0), args)]
    if not rest or rest[0] != DOCUMENTED_NAME:
        raise SystemExit(f"docs/releases.md: unexpected image in {command!r}")
    return shlex.join([*out, args.image, *rest[1:]])


def fill_value(option: str, value: str, args: argparse.Namespace) -> str:
    if option == "--name":
        return args.container if value == DOCUMENTED_NAME else value
    if option == "-p":
        host, _, inside = value.split(":")
        if (host, inside) != ("127.0.0.1", "5000"):
            raise SystemExit(
                f"docs/releases.md: a published port other than 127.0.0.1:*:5000: {value}"
            )
        return f"{host}:{args.port}:{inside}"
    if option == "-v":
        source, target = value.split(":", 1)
        if source == DOCUMENTED_NAME:
            return f"{args.volume}:{target}"
        if source == "$PWD/keys.json":
            return f"{args.keys}:{target}"
        raise SystemExit(f"docs/releases.md: a volume the smoke test cannot fill: {value}")
    if option == "-e":
        name, _, setting = value.partition("=")
        placeholders = {
            "STASH_SENSE_STASH_URL": args.stash_url,
            "STASH_SENSE_API_KEY": args.api_key,
            "STASH_SENSE_RELEASE_INDEX": args.index,
        }
        if "<" in setting:
            if name not in placeholders:
                raise SystemExit(
                    f"docs/releases.md: a placeholder the smoke test cannot fill: {value}"
                )
            return f"{name}={placeholders[name]}"
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in ("image", "container", "volume", "port", "keys", "stash-url", "api-key", "index"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    commands = documented_commands(docker_section(DOCS.read_text(encoding="utf-8")))
    if not commands:
        raise SystemExit("docs/releases.md: no docker run/exec lines in the Docker section")
    sys.stdout.write("".join(fill(c, args) + "\n" for c in commands))


if __name__ == "__main__":
    main()
