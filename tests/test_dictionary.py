"""The dictionary coder: pattern semantics, language routing, spans, and backend identity."""

from __future__ import annotations

import pickle
import random
import unicodedata
from pathlib import Path

import pytest

from secprio import __version__
from secprio.codebook.model import Category, Codebook
from secprio.coders.base import Coder, Coding, Unit
from secprio.coders.dictionary import DictionaryCoder
from secprio.errors import CodebookError, CoderError

try:
    import hyperscan  # noqa: F401

    BACKENDS = ["hyperscan", "aho"]
except ImportError:  # pragma: no cover - hyperscan has wheels for x86_64 only
    BACKENDS = ["aho"]


def codebook(spec: dict[str, dict[str, list[str]]]) -> Codebook:
    cats = tuple(
        Category(id=cid, kind="priority", label=cid, definition=cid,
                 patterns={lang: tuple(p) for lang, p in pats.items()})
        for cid, pats in spec.items()
    )  # fmt: skip
    return Codebook("test", "1", cats)


def spans(coder: DictionaryCoder, text: str, lang: str = "en") -> list[str]:
    return [text[start:end] for _, _, start, end in coder.match(text, lang)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.getbasetemp() / "hyperscan-cache"
    monkeypatch.setenv("SECPRIO_CACHE", str(folder))
    return folder


def one(patterns: list[str], backend: str, lang: str = "all") -> DictionaryCoder:
    return DictionaryCoder(codebook({"c": {lang: patterns}}), backend=backend)


def test_word_boundaries(backend: str) -> None:
    coder = one(["war"], backend)
    text = "War broke out; the war, warm software toward wars and postwar."
    assert spans(coder, text) == ["War", "war"]


def test_phrase_across_whitespace(backend: str) -> None:
    coder = one(["military cooperation"], backend)
    assert spans(coder, "Military\n\t  cooperation grew") == ["Military\n\t  cooperation"]
    assert spans(coder, "military\u00a0cooperation") == ["military\u00a0cooperation"]
    assert spans(coder, "military-cooperation, militarycooperation") == []


def test_wildcards_and_turkic_suffixes(backend: str) -> None:
    coder = one(["işbirliğ*", "terör*", "defen*e industr*", "*terror"], backend)
    text = "İŞBİRLİĞİNİN artması, işbirliğini; terörizmle; defense industries; counterterror"
    assert spans(coder, text) == [
        "İŞBİRLİĞİNİN", "işbirliğini", "terörizmle", "defense industries", "counterterror"
    ]  # fmt: skip
    assert spans(coder, "işbirlik terrorist") == []


def test_turkish_dotted_and_dotless_i(backend: str) -> None:
    coder = one(["istihbarat", "Kırgızistan", "ılımlı"], backend)
    text = "İSTİHBARAT, ISTIHBARAT ve istihbarat; KIRGIZİSTAN, Kirgizistan; ILIMLI"
    assert spans(coder, text) == [
        "İSTİHBARAT", "ISTIHBARAT", "istihbarat", "KIRGIZİSTAN", "Kirgizistan", "ILIMLI"
    ]  # fmt: skip


def test_a_regex_written_with_turkish_letters_matches_as_written(backend: str) -> None:
    """Normalized text has no ı (or curly apostrophe): a regex body's letters are folded the
    same way, so a Turkish regex written as spoken still matches."""
    coder = one(
        [r"re:\bterör\S*\s+(?:\S+\s+){0,4}kın\w*", r"re:\brusya\w*(?:[’]\w+)?\s+baskı"], backend
    )
    text = "Terörü şiddetle KINADI. Rusya’nın baskısı arttı."
    assert spans(coder, text, "tr") == ["Terörü şiddetle KINADI", "Rusya’nın baskı"]
    assert spans(coder, "Terör saldırısı oldu.", "tr") == []


def test_latin_pattern_matches_cyrillic_and_back(backend: str) -> None:
    coder = one(["qazaqstan", "terrorizm*", "әскери ынтымақтастық*"], backend)
    text = "Қазақстан: борьба с ТЕРРОРИЗМОМ; Äskeri ıntımaqtastıqtı"  # Kazakh Latin (2021)
    assert spans(coder, text, "kk") == ["Қазақстан", "ТЕРРОРИЗМОМ", "Äskeri ıntımaqtastıqtı"]


def test_regex_patterns(backend: str) -> None:
    coder = one(
        [r"re:\bjoint (?:military )?drills?\b", "re:^the summit", r"re:(\w+) and \1\b",
         r"re:(?<!counter-)terrorism\b", r"re:\d{4}\s+summit", "re:(?i)NATO"],
        backend,
    )  # fmt: skip
    assert spans(coder, "joint drills, joint military drill") == [
        "joint drills", "joint military drill"
    ]  # fmt: skip
    assert spans(coder, "counter-terrorism; terrorism") == ["terrorism"]
    assert spans(coder, "peace and peace; the 2022 summit; Nato") == [
        "peace and peace", "2022 summit", "Nato"
    ]  # fmt: skip
    units = [Unit(1, "The summit opened."), Unit(2, "After the summit."), Unit(3, "the summit")]
    assert [c.unit_id for c in coder.code(units)] == [1, 3]  # ^ is the start of each unit


def test_language_routing(backend: str) -> None:
    coder = DictionaryCoder(
        codebook({"border": {"en": ["border"], "tr": ["sınır"]}, "nato": {"all": ["nato"]}}),
        backend=backend,
    )
    text = "border, sınır, NATO"
    assert spans(coder, text, "en") == ["border", "NATO"]
    assert spans(coder, text, "en-GB") == ["border", "NATO"]
    assert spans(coder, text, "tr") == ["sınır", "NATO"]
    for lang in ("", "fr", "kk"):  # no key for it in the codebook: every pattern applies
        assert spans(coder, text, lang) == ["border", "sınır", "NATO"]


def test_spans_in_the_original_text(backend: str) -> None:
    coder = one(["terrorizm*", "yurga", "şçuçinsk", "terörizm"], backend)
    text = "Щучинск и Юрга: борьба с ТЕРРОРИЗМОМ"  # щ → şç and ю → yu change the length
    assert spans(coder, text, "ru") == ["Щучинск", "Юрга", "ТЕРРОРИЗМОМ"]
    decomposed = unicodedata.normalize("NFD", "Yeni terörizm tehdidi")
    assert spans(coder, decomposed, "tr") == [unicodedata.normalize("NFD", "terörizm")]
    (coding,) = coder.code([Unit(7, text, "ru")])
    assert text[coding.start : coding.end] == "Щучинск"


def test_one_coding_per_category(backend: str) -> None:
    spec = {
        "military": {"en": ["joint", "joint exercise*", "exercise*"]},
        "terror": {"en": ["terrorism", "terror*"]},
    }
    coder = DictionaryCoder(codebook(spec), backend=backend)
    text = "Terrorism fell; joint exercises and joint exercises again."
    military, terror = coder.code([Unit(3, text, "en")])
    assert (military.category, military.pattern) == ("military", "joint exercise*")  # longest
    assert text[military.start : military.end] == "joint exercises"
    words = [text[a:b] for a, b in military.evidence.pop("spans")]  # type: ignore[attr-defined]
    assert words == ["joint", "joint exercises", "exercises"] * 2  # every match, for highlights
    assert military.evidence == {
        "matches": 6, "patterns": ["joint exercise*", "joint", "exercise*"]
    }  # fmt: skip
    assert (terror.pattern, terror.start, terror.end) == ("terrorism", 0, 9)  # codebook order
    assert terror.evidence == {"matches": 1, "patterns": ["terrorism", "terror*"],
                               "spans": [[0, 9]]}  # fmt: skip


def test_coding_fields_and_contract(backend: str) -> None:
    coder = one(["war"], backend)
    assert isinstance(coder, Coder)
    assert coder.name == "dictionary" and coder.backend == backend
    assert coder.version.startswith(f"{__version__}+") and len(coder.version.split("+")[1]) == 12
    (coding,) = coder.code([Unit(5, "A war.", "en"), Unit(6, "Peace.", "en")])
    assert coding == Coding(5, "c", "dictionary", coder.version, 1.0, "war", 2, 5,
                            evidence={"matches": 1, "patterns": ["war"],
                                      "spans": [[2, 5]]})  # fmt: skip
    other = DictionaryCoder(codebook({"c": {"all": ["war", "peace"]}}), backend=backend)
    assert other.version != coder.version  # the codebook hash is part of the version


def test_batches_nul_and_pickle(backend: str) -> None:
    coder = one(["war", r"re:war\b"], backend)
    units = [Unit(i, f"unit {i} {'war' if i % 3 == 0 else 'peace'}\x00 x") for i in range(300)]
    small = DictionaryCoder(coder.codebook, backend=backend, batch_chars=50)
    expected = list(coder.code(units))
    assert [c.unit_id for c in expected] == list(range(0, 300, 3))
    assert list(small.code(units)) == expected
    again = pickle.loads(pickle.dumps(coder))
    assert again.backend == backend and list(again.code(units)) == expected


def test_patterns_no_prefilter_can_take(backend: str) -> None:
    # a conditional (no hyperscan form), a repeat hyperscan rejects, no literal for aho
    patterns = [r"re:(a)?(?(1)b|c)d", r"re:x{2,40000}y", r"re:[ąb]\d"]
    coder = one(patterns, backend)
    assert spans(coder, "cd abd xxy b7 ab") == ["cd", "abd", "xxy", "b7"]
    assert len(coder._scanner.always) == (2 if backend == "hyperscan" else 1)


@pytest.mark.skipif("hyperscan" not in BACKENDS, reason="hyperscan is not installed")
def test_compiled_database_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECPRIO_CACHE", str(tmp_path))
    patterns = ["war", "terror*", r"re:x{2,40000}y"]
    first = one(patterns, "hyperscan")
    (path,) = (tmp_path / "hyperscan").glob("*.db")
    again = one(patterns, "hyperscan")  # loaded from the file
    text = "war, terrorism, xxy"
    assert spans(again, text) == spans(first, text) == ["war", "terrorism", "xxy"]
    assert again._scanner.always == first._scanner.always == [2]
    path.write_bytes(b"[]\nnot a database")
    assert spans(one(patterns, "hyperscan"), text) == spans(first, text)  # recompiled
    monkeypatch.setenv("SECPRIO_CACHE", "")
    path.unlink()
    one(patterns, "hyperscan")
    assert not path.exists()


def test_errors() -> None:
    with pytest.raises(CoderError, match="unknown backend"):
        one(["war"], "regex")
    with pytest.raises(CodebookError, match="does not compile"):
        one(["re:(war"], "aho")


# -- property: both backends yield identical codings, equal to Python re on every unit --------

PATTERNS = {
    "military": {
        "en": ["military cooperation", "joint exercise*", "defen*e industr*",
               r"re:\bjoint (?:military )?drills?\b"],
        "tr": ["askeri işbirliğ*", "ortak tatbikat*"],
        "kk": ["әскери ынтымақтастық*"],
    },
    "terror": {
        "all": ["terror*", "*terrorism", "extremis*", "terör*"],
        "ru": ["борьб* с терроризм*"],
    },
    "border": {"all": ["border", "sınır*", "border security", "u.s.*"]},
    "regex": {
        "all": [r"re:(\w+) and \1\b", r"re:(?<!counter-)war\b", r"re:\d{2,4}\s+summit",
                "re:^the", r"re:peace$", r"re:[^\w\s]{2}", r"re:\bq\w+stan\b", "re:(?i)NATO",
                r"re:\Bwar", r"re:(?:a|b)c+"],
    },
}  # fmt: skip
_WORDS = (
    "military cooperation joint exercise exercises defence defense industry industries drills "
    "drill askeri işbirliği işbirliğini ortak tatbikatı әскери ынтымақтастық terror terrorism "
    "counterterrorism counter-terrorism extremism terörizm борьба с терроризмом border "
    "borders sınırı security u.s. u.s.a. and war warm software peace summit 2022 the Qazaqstan "
    "Қазақстан NATO Nato abc bcc İŞBİRLİĞİ ISTIHBARAT щука юг"
)
WORDS = _WORDS.split()
NOISE = [" ", " ", " ", "  ", "\n", "\t", "\u00a0", ", ", ". ", "-", "!?", "\x1c", "\u1885",
         "\u0560", "\u0301", "\u180e", "ş", "x", "1", "_"]  # fmt: skip


def sentence(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 12)):
        word = rng.choice(WORDS)
        if rng.random() < 0.2:
            word = word.upper() if rng.random() < 0.5 else word.capitalize()
        if rng.random() < 0.2:
            word += rng.choice(["s", "ni", "ları", "ning", "ы", "\u0560", "\u1885"])
        parts.append(word + rng.choice(NOISE))
    return "".join(parts).strip(" ") if rng.random() < 0.8 else "".join(parts)


@pytest.mark.skipif(len(BACKENDS) < 2, reason="hyperscan is not installed")
def test_backends_identical_on_random_sentences() -> None:
    rng = random.Random(20240101)
    units = [Unit(i, sentence(rng), rng.choice(["en", "tr", "kk", "ru", "", "fr"]))
             for i in range(4000)]  # fmt: skip
    coders = [DictionaryCoder(codebook(PATTERNS), backend=b, batch_chars=5000) for b in BACKENDS]
    first, second = (list(c.code(units)) for c in coders)
    assert first == second
    assert len({c.unit_id for c in first}) > 1000  # the test sentences do match


@pytest.mark.skipif(len(BACKENDS) < 2, reason="hyperscan is not installed")
def test_scan_equals_python_re_on_every_unit() -> None:
    """On raw (not normalized) text too: the prefilters never miss a match of the regex."""
    rng = random.Random(7)
    texts = [sentence(rng) for _ in range(3000)]
    coders = [DictionaryCoder(codebook(PATTERNS), backend=b) for b in BACKENDS]
    reference: dict[int, list[tuple[int, int, int]]] = {}
    for i, text in enumerate(texts):
        hits = [(m.start(), m.end(), e.index) for e in coders[0].entries
                for m in e.regex.finditer(text) if m.end() > m.start()]  # fmt: skip
        if hits:
            reference[i] = sorted(hits, key=lambda h: (h[0], h[0] - h[1], h[2]))
    for coder in coders:
        assert coder.scan(texts, [""] * len(texts)) == reference
