"""A synthetic multi-source world for the identity graph, with known truth: people (each with
real face vectors) listed by five endpoints under different ids, name spellings, scripts, URL
forms, partial overlaps and missing images, and traps: namesakes (different people with one
name) and look-alikes (different people with near faces, different names).

Japanese names are built from a hand-written list of common family and given names with their
kana and Hepburn readings (the family names are the most common ones of the Meiji Yasuda /
myoji-yurai rankings as Wikipedia's "List of common Japanese surnames" shows them; the given
names are common female names), written out here, not downloaded. Kanji records are read by
pykakasi on the graph side, so a reading it gets wrong costs recall, as it would in real use.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

import numpy as np

from stash_sense.graph.model import FANSDB, JAVSTASH, PMVSTASH, STASHDB, THEPORNDB, SourceRecord

ENDPOINTS = (STASHDB, THEPORNDB, FANSDB, PMVSTASH, JAVSTASH)
#: (kanji, hiragana, Hepburn)
FAMILY = [
    ("佐藤", "さとう", "Sato"),
    ("鈴木", "すずき", "Suzuki"),
    ("高橋", "たかはし", "Takahashi"),
    ("田中", "たなか", "Tanaka"),
    ("伊藤", "いとう", "Ito"),
    ("渡辺", "わたなべ", "Watanabe"),
    ("山本", "やまもと", "Yamamoto"),
    ("中村", "なかむら", "Nakamura"),
    ("小林", "こばやし", "Kobayashi"),
    ("加藤", "かとう", "Kato"),
    ("吉田", "よしだ", "Yoshida"),
    ("山田", "やまだ", "Yamada"),
    ("佐々木", "ささき", "Sasaki"),
    ("山口", "やまぐち", "Yamaguchi"),
    ("松本", "まつもと", "Matsumoto"),
    ("井上", "いのうえ", "Inoue"),
    ("木村", "きむら", "Kimura"),
    ("林", "はやし", "Hayashi"),
    ("清水", "しみず", "Shimizu"),
    ("山崎", "やまざき", "Yamazaki"),
    ("森", "もり", "Mori"),
    ("池田", "いけだ", "Ikeda"),
    ("橋本", "はしもと", "Hashimoto"),
    ("阿部", "あべ", "Abe"),
    ("石川", "いしかわ", "Ishikawa"),
    ("前田", "まえだ", "Maeda"),
    ("藤田", "ふじた", "Fujita"),
    ("小川", "おがわ", "Ogawa"),
    ("岡田", "おかだ", "Okada"),
    ("長谷川", "はせがわ", "Hasegawa"),
]
GIVEN = [
    ("結衣", "ゆい", "Yui"),
    ("美咲", "みさき", "Misaki"),
    ("愛", "あい", "Ai"),
    ("優子", "ゆうこ", "Yuko"),
    ("花子", "はなこ", "Hanako"),
    ("真央", "まお", "Mao"),
    ("彩", "あや", "Aya"),
    ("美穂", "みほ", "Miho"),
    ("恵", "めぐみ", "Megumi"),
    ("舞", "まい", "Mai"),
    ("里美", "さとみ", "Satomi"),
    ("明日香", "あすか", "Asuka"),
    ("麻衣", "まい", "Mai"),
    ("由美", "ゆみ", "Yumi"),
    ("京子", "きょうこ", "Kyoko"),
    ("智子", "ともこ", "Tomoko"),
    ("直美", "なおみ", "Naomi"),
    ("沙織", "さおり", "Saori"),
    ("千尋", "ちひろ", "Chihiro"),
    ("香織", "かおり", "Kaori"),
    ("奈美", "なみ", "Nami"),
    ("理恵", "りえ", "Rie"),
    ("瞳", "ひとみ", "Hitomi"),
    ("真由美", "まゆみ", "Mayumi"),
    ("桜", "さくら", "Sakura"),
    ("美香", "みか", "Mika"),
    ("絵里", "えり", "Eri"),
    ("友美", "ともみ", "Tomomi"),
    ("綾香", "あやか", "Ayaka"),
    ("早苗", "さなえ", "Sanae"),
]
SITES = ("twitter", "instagram", "onlyfans", "iafd", "babepedia", "freeones", "data18", "indexxx")
COUNTRIES = ("US", "GB", "DE", "FR", "CZ", "HU", "RU", "BR", "CA", "ES", "IT", "UA")


@dataclass
class Person:
    """One real person of the world: a name and face vectors per embedder, one row per photo."""

    label: str
    name: str
    faces: dict[str, np.ndarray]

    @property
    def photos(self) -> int:
        return len(next(iter(self.faces.values())))


@dataclass
class World:
    """The records and, for each record key, the person it truly describes."""

    records: list[SourceRecord]
    truth: dict[str, str]
    #: photos of each person that no record holds (for queries), as (label, row)
    held_out: list[tuple[str, int]] = field(default_factory=list)
    traps: dict[str, int] = field(default_factory=dict)


def _url(rng: random.Random, site: str, handle: str) -> str:
    """One of the many ways sources write a profile URL."""
    host = {
        "twitter": rng.choice(["twitter.com", "www.twitter.com", "x.com", "mobile.twitter.com"]),
        "instagram": rng.choice(["instagram.com", "www.instagram.com"]),
        "onlyfans": rng.choice(["onlyfans.com", "www.onlyfans.com"]),
        "iafd": "www.iafd.com",
        "babepedia": "www.babepedia.com",
        "freeones": rng.choice(["www.freeones.com", "freeones.com"]),
        "data18": "www.data18.com",
        "indexxx": "www.indexxx.com",
    }[site]
    path = {
        "iafd": f"person.rme/perfid={handle}/gender=f/{handle}.htm",
        "babepedia": f"babe/{handle}",
        "data18": f"name/{handle}",
        "indexxx": f"m/{handle}",
    }.get(site, handle)
    if rng.random() < 0.4:
        path = path.upper() if site in ("twitter", "instagram") else path
    tail = rng.choice(["", "/", "?ref=stashdb", "/?hl=en", "#bio"])
    scheme = rng.choice(["https://", "http://", "https://"])
    return f"{scheme}{host}/{path}{tail}"


def _western_spelling(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.5:
        return name
    if roll < 0.65:
        return name.upper() if rng.random() < 0.3 else name.lower()
    if roll < 0.8:
        return name.replace(" ", "-", 1) if " " in name else name
    if roll < 0.9:
        accents = str.maketrans({"e": "é", "a": "á", "o": "ö"})
        return name.translate(accents)
    parts = name.split()
    return " ".join(reversed(parts)) if len(parts) == 2 else name


def build_world(people: list[Person], seed: int = 0, japanese_share: float = 0.25) -> World:
    """Records for `people` under the five endpoints, with traps; deterministic for a seed."""
    rng = random.Random(seed)
    records: list[SourceRecord] = []
    truth: dict[str, str] = {}
    held_out: list[tuple[str, int]] = []
    traps = {"namesakes": 0, "look_alikes": 0}
    n_people = len(people)
    for p_index, person in enumerate(people):
        japanese = rng.random() < japanese_share
        fam, given = rng.choice(FAMILY), rng.choice(GIVEN)
        birth = f"{rng.randint(1975, 2003)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        country = "JP" if japanese else rng.choice(COUNTRIES)
        handle = "".join(ch for ch in person.name.lower() if ch.isalnum()) + str(rng.randint(1, 99))
        sites = rng.sample(SITES, rng.randint(0, 3))
        if japanese:
            weights = {JAVSTASH: 0.9, STASHDB: 0.5, FANSDB: 0.2, THEPORNDB: 0.3, PMVSTASH: 0.05}
        else:
            weights = {STASHDB: 0.8, THEPORNDB: 0.7, FANSDB: 0.4, PMVSTASH: 0.25, JAVSTASH: 0.02}
        endpoints = [ep for ep in ENDPOINTS if rng.random() < weights[ep]] or [
            JAVSTASH if japanese else STASHDB
        ]
        photos = list(range(person.photos))
        rng.shuffle(photos)
        query_photo = photos.pop() if len(photos) > 1 else None
        if query_photo is not None:
            held_out.append((person.label, query_photo))
        ids = {ep: str(uuid.UUID(int=rng.getrandbits(128))) for ep in endpoints}
        for ep in endpoints:
            if japanese:
                form = rng.random() if ep == JAVSTASH else 1.0
                if form < 0.5:
                    name = fam[0] + given[0]
                elif form < 0.7:
                    name = fam[1] + " " + given[1] if rng.random() < 0.5 else fam[1] + given[1]
                else:
                    name = f"{given[2]} {fam[2]}" if rng.random() < 0.7 else f"{fam[2]} {given[2]}"
                aliases = [f"{given[2]} {fam[2]}"] if ep == JAVSTASH and rng.random() < 0.3 else []
            else:
                name = _western_spelling(rng, person.name)
                aliases = []
                if rng.random() < 0.15:  # a stage name; the real one an alias, sometimes
                    stage = (
                        rng.choice(["Candy", "Roxy", "Luna", "Mia", "Kiki"])
                        + " "
                        + rng.choice(["Rose", "Star", "Moon", "Lane", "Fox"])
                    )
                    aliases = [name] if rng.random() < 0.6 else []
                    name = stage
            chosen = [ph for ph in photos if rng.random() < 0.5][:2]
            if not chosen and photos and rng.random() < 0.85:
                chosen = [rng.choice(photos)]
            same_as = []
            if ep == THEPORNDB and STASHDB in ids and rng.random() < 0.5:
                same_as = [(STASHDB, ids[STASHDB])]
            bd = birth if rng.random() < 0.6 else None
            if bd and rng.random() < 0.02:  # a source's typo: conflicting evidence
                bd = f"{int(birth[:4]) + 1}{birth[4:]}"
            rec = SourceRecord(
                endpoint=ep,
                source_id=ids[ep],
                name=name,
                aliases=aliases,
                country=country if rng.random() < 0.5 else None,
                birthdate=bd,
                urls=[_url(rng, s, handle) for s in sites if rng.random() < 0.5],
                image_count=len(chosen),
                same_as=same_as,
                faces={k: v[chosen] for k, v in person.faces.items()} if chosen else {},
            )
            records.append(rec)
            truth[rec.key] = person.label
        # a namesake: a different person (the next one in the list) under this one's name
        if rng.random() < 0.1 and n_people > 1:
            other = people[(p_index + 1) % n_people]
            row = [rng.randrange(other.photos)]
            ep = rng.choice([e for e in ENDPOINTS if e not in endpoints] or list(ENDPOINTS))
            rec = SourceRecord(
                endpoint=ep,
                source_id=str(uuid.UUID(int=rng.getrandbits(128))),
                name=records[-1].name,
                birthdate=(f"{rng.randint(1975, 2003)}-01-15" if rng.random() < 0.5 else None),
                faces={k: v[row] for k, v in other.faces.items()},
                image_count=1,
            )
            records.append(rec)
            truth[rec.key] = f"namesake-of-{person.label}"
            traps["namesakes"] += 1
    return World(records, truth, held_out, traps)


def add_look_alikes(world: World, strangers: list[Person]) -> None:
    """Each stranger (a person outside the world; the caller picks those whose faces are nearest
    to someone of the world) joins as a record under a name of their own: a look-alike trap."""
    rng = random.Random(len(strangers))
    for stranger in strangers:
        ep = rng.choice(ENDPOINTS)
        rec = SourceRecord(
            endpoint=ep,
            source_id=str(uuid.UUID(int=rng.getrandbits(128))),
            name=stranger.name,
            faces=dict(stranger.faces),
            image_count=stranger.photos,
        )
        world.records.append(rec)
        world.truth[rec.key] = f"stranger-{stranger.label}"
        world.traps["look_alikes"] = world.traps.get("look_alikes", 0) + 1
