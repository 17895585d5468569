"""The OTS pack's codebook on sentences written for these tests (never text of the dev set).

Each case pins a context rule of the codebook: a word alone is not enough where the guide
asks for a claim (the CSTO named alone, Russia named in passing, a list of members), and the
same claim is found in every script it is written in (Uzbek Latin and Cyrillic).
"""

from __future__ import annotations

import pytest

from secprio import packs
from secprio.codebook import load
from secprio.coders.base import Unit
from secprio.coders.dictionary import DictionaryCoder


@pytest.fixture(scope="module")
def coder() -> DictionaryCoder:
    return DictionaryCoder(load(packs.path("ots") / "codebook.yaml"))


def codes(coder: DictionaryCoder, text: str, lang: str) -> set[str]:
    code = {c.id: c.code for c in coder.codebook.categories}
    return {code[c.category] for c in coder.code([Unit(1, text, lang)])}


# (language, sentence, category, coded?)
CASES = [
    # T_RU: the CSTO named alone is a meeting, not Russia's leverage; named beside Russia it is
    ("ru", "Заседание Организации Договора о коллективной безопасности прошло в прошлом месяце.",
     "T_RU", False),
    ("tr", "KGAÖ dışişleri bakanları geçen ay bir araya geldi.", "T_RU", False),
    ("kk", "ҰҚШҰ хатшысы жиналысқа қатысты.", "T_RU", False),
    ("ru", "Москва усиливает давление на соседей через ОДКБ.", "T_RU", True),
    # T_RU: the bare genitive «России» in a neutral sentence is a mention, not influence
    ("ru", "Делегация России приняла участие в форуме в Баку.", "T_RU", False),
    ("ru", "Страны региона стремятся уменьшить зависимость от России.", "T_RU", True),
    # T_CN: Russia and China named together as the region's powers
    ("en", "Russia and China both court the governments of the region.", "T_CN", True),
    ("ru", "Россия и Китай остаются крупнейшими соседями региона.", "T_CN", True),
    ("tr", "Rusya ve Çin bölgedeki en büyük iki güç olmayı sürdürüyor.", "T_CN", True),
    # BOR: Uzbek in Cyrillic codes as its Latin twin does
    ("uz", "Chegara xavfsizligi masalasi muhokama qilindi.", "BOR", True),
    ("uz", "Чегара хавфсизлиги масаласи муҳокама қилинди.", "BOR", True),
    # INT: the organization's own development is integration; a list of members is not
    ("en", "The summit discussed the enlargement of the OTS and the structure of its bodies.",
     "INT", True),
    ("ru", "Стороны обсудили дальнейшее развитие Организации тюркских государств.", "INT", True),
    ("tk", "Azerbaýjan, Gazagystan we Özbegistan guramanyň agza döwletleridir.", "INT", False),
    ("ru", "Венгрия имеет статус наблюдателя, остальные пять стран являются членами.", "INT",
     False),
    ("az", "Macarıstan müşahidəçi ölkədir.", "INT", False),
    # BOR: the Turkmen d-stem of 'serhet' and Azerbaijani irregular migrants
    ("tk", "Serhedi goramak boýunça täze çäreler kabul edildi.", "BOR", True),
    ("az", "Qeyri-qanuni miqrantların tranziti ciddi problemdir.", "BOR", True),
    # Russian: defence ministers (MIL), unrest (T_CA), a fifth column online (T_CY)
    ("ru", "Министр обороны Казахстана посетил Анкару.", "MIL", True),
    ("ru", "Весной волнения охватили несколько городов.", "T_CA", True),
    ("ru", "Эксперты предупредили о пятой колонне в социальных сетях.", "T_CY", True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "text", "category", "coded"),
    CASES,
    ids=[
        f"{lang}-{cat}-{'coded' if yes else 'not'}-{i}"
        for i, (lang, _, cat, yes) in enumerate(CASES)
    ],
)
def test_context_rules_of_the_ots_codebook(
    coder: DictionaryCoder, lang: str, text: str, category: str, coded: bool
) -> None:
    assert (category in codes(coder, text, lang)) is coded


def test_uzbek_cyrillic_and_latin_code_alike(coder: DictionaryCoder) -> None:
    latin = "Noqonuniy migratsiyaga qarshi kurash va chegarani himoya qilish kuchaytiriladi."
    cyrillic = "Ноқонуний миграцияга қарши кураш ва чегарани ҳимоя қилиш кучайтирилади."
    assert "BOR" in codes(coder, latin, "uz")
    assert codes(coder, cyrillic, "uz") == codes(coder, latin, "uz")
