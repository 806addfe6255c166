"""The membership catalog (data/catalog.yml): products, aliases, plans and domain words."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import yaml

DEFAULT_CATALOG_PATH = Path(__file__).resolve().parent.parent / "data" / "catalog.yml"
PERIODS = ("month", "quarter", "year")


class CatalogError(ValueError):
    """The catalog file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Plan:
    """An auto-renewing plan of a product."""

    name: str
    price: Decimal
    period: str


@dataclass(frozen=True)
class Product:
    """A membership product with every name a user may call it."""

    name: str
    code: str
    provider: str
    aliases: Tuple[str, ...]
    misspellings: Tuple[str, ...]
    plans: Tuple[Plan, ...]

    @property
    def surface_forms(self) -> Tuple[str, ...]:
        """The canonical name, aliases and misspellings, each once, longest first."""
        forms = dict.fromkeys((self.name, *self.aliases, *self.misspellings))
        return tuple(sorted(forms, key=len, reverse=True))

    def plan(self, name: str) -> Plan:
        """The plan called `name` (e.g. 连续包月)."""
        for plan in self.plans:
            if plan.name == name:
                return plan
        raise CatalogError(f"{self.name} has no plan {name!r}")


@dataclass(frozen=True)
class Catalog:
    """All products and the domain vocabulary."""

    products: Tuple[Product, ...]
    vocabulary: Tuple[str, ...]

    def by_name(self, name: str) -> Product:
        """The product whose canonical name is `name`."""
        for product in self.products:
            if product.name == name:
                return product
        raise KeyError(name)

    def resolve(self, text: str) -> Optional[Product]:
        """The product whose name, alias or misspelling equals `text` (case-insensitive)."""
        wanted = text.strip().lower()
        for product in self.products:
            if wanted in (form.lower() for form in product.surface_forms):
                return product
        return None

    def surface_index(self) -> Dict[str, str]:
        """Every surface form (lower case) mapped to its canonical product name."""
        index: Dict[str, str] = {}
        for product in self.products:
            for form in product.surface_forms:
                index[form.lower()] = product.name
        return index


def _parse_product(raw: dict) -> Product:
    try:
        plans = tuple(
            Plan(name=str(p["name"]), price=Decimal(str(p["price"])), period=str(p["period"]))
            for p in raw.get("plans", [])
        )
        product = Product(
            name=str(raw["name"]),
            code=str(raw["code"]),
            provider=str(raw["provider"]),
            aliases=tuple(str(a) for a in raw.get("aliases", [])),
            misspellings=tuple(str(m) for m in raw.get("misspellings", [])),
            plans=plans,
        )
    except (KeyError, TypeError, ArithmeticError) as exc:
        raise CatalogError(f"malformed product entry {raw!r}: {exc}") from exc
    for plan in plans:
        if plan.period not in PERIODS:
            raise CatalogError(f"{product.name}: unknown period {plan.period!r}")
    for form in product.surface_forms:
        if any(ch.isspace() for ch in form):
            raise CatalogError(f"{product.name}: surface form {form!r} contains white space")
    return product


def load_catalog(path: Union[str, Path, None] = None) -> Catalog:
    """Reads and checks the catalog file (data/catalog.yml by default)."""
    path = Path(path) if path else DEFAULT_CATALOG_PATH
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("products"), list):
        raise CatalogError(f"{path}: expected a mapping with a 'products' list")
    products = tuple(_parse_product(p) for p in raw["products"])
    seen: Dict[str, str] = {}
    for product in products:
        for form in product.surface_forms:
            owner = seen.setdefault(form.lower(), product.name)
            if owner != product.name:
                raise CatalogError(f"{form!r} names both {owner} and {product.name}")
    vocabulary: List[str] = [str(w) for w in raw.get("vocabulary", [])]
    return Catalog(products=products, vocabulary=tuple(vocabulary))
