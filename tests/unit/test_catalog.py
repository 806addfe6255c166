"""The catalog loader: one source for products, aliases and the domain vocabulary."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog import CatalogError, load_catalog

CONTRACT_NAMES = {
    "腾讯视频VIP",
    "爱奇艺黄金VIP",
    "优酷VIP",
    "芒果TV会员",
    "QQ音乐绿钻",
    "网易云音乐黑胶VIP",
    "咪咕视频钻石会员",
    "百度网盘超级会员",
    "移动云盘会员",
    "视频彩铃",
}
CONTRACT_ALIASES = {
    "腾讯视频会员": "腾讯视频VIP",
    "腾讯会员": "腾讯视频VIP",
    "爱奇艺会员": "爱奇艺黄金VIP",
    "奇艺VIP": "爱奇艺黄金VIP",
    "优酷会员": "优酷VIP",
    "芒果会员": "芒果TV会员",
    "绿钻": "QQ音乐绿钻",
    "QQ音乐会员": "QQ音乐绿钻",
    "黑胶": "网易云音乐黑胶VIP",
    "网易云会员": "网易云音乐黑胶VIP",
    "咪咕会员": "咪咕视频钻石会员",
    "百度网盘SVIP": "百度网盘超级会员",
    "网盘会员": "百度网盘超级会员",
    "云盘会员": "移动云盘会员",
    "彩铃": "视频彩铃",
}


def test_catalog_holds_the_contract_products_and_aliases() -> None:
    """Every canonical name and alias of the contract resolves to its product."""
    catalog = load_catalog()
    assert {p.name for p in catalog.products} == CONTRACT_NAMES
    for alias, name in CONTRACT_ALIASES.items():
        assert catalog.resolve(alias).name == name
        assert catalog.resolve(alias.lower()).name == name


def test_misspellings_resolve_and_plans_have_prices() -> None:
    """Typos such as 腾迅 and 爱奇义 resolve; plans carry Decimal prices."""
    catalog = load_catalog()
    assert catalog.resolve("腾迅视频").name == "腾讯视频VIP"
    assert catalog.resolve("爱奇义").name == "爱奇艺黄金VIP"
    assert catalog.by_name("腾讯视频VIP").plan("连续包月").price == Decimal("25.00")
    assert catalog.resolve("不存在的会员") is None


def test_a_name_claimed_by_two_products_is_refused(tmp_path: Path) -> None:
    """The same alias for two products would make entities ambiguous: refused."""
    path = tmp_path / "catalog.yml"
    path.write_text(
        "products:\n"
        "  - {name: A会员, code: a, provider: A, aliases: [会员X]}\n"
        "  - {name: B会员, code: b, provider: B, aliases: [会员x]}\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError, match="names both"):
        load_catalog(path)


@pytest.mark.parametrize(
    "body",
    [
        "not a mapping",
        "products:\n  - {name: A会员}\n",
        "products:\n  - {name: A会员, code: a, provider: A,"
        " plans: [{name: 月, price: '1', period: week}]}\n",
        "products:\n  - {name: A 会员, code: a, provider: A}\n",
    ],
)
def test_malformed_catalogs_fail_clearly(tmp_path: Path, body: str) -> None:
    """A broken catalog file raises CatalogError naming the problem."""
    path = tmp_path / "catalog.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CatalogError):
        load_catalog(path)


def test_missing_catalog_file_fails_clearly(tmp_path: Path) -> None:
    """A missing file is a CatalogError with its path."""
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "nope.yml")
