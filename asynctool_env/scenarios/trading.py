"""Trading: brokerage accounts, stock quotes, orders and fills, positions, cash transfers.

The world
---------
A :class:`TradingWorld` is one investor's brokerage: three accounts (an individual
brokerage account and two more drawn from :data:`ACCOUNT_TYPES`, each with a world-specific
eight-digit number and a cash balance), the trading day and time, and a ``seed``. The
market (the price of every symbol of :data:`SYMBOLS`, its bid and ask) and the holdings the
accounts already have (3 to 5 positions each, with quantities and average costs) are fixed
by the world but not stored: they are a pure function of ``seed`` and the symbol or
account, derived from a hash when asked for (:func:`_price`, :func:`_positions`), so a
world costs under ten microseconds to build.

The tools
---------
============================ ======= ==================================================
``get_brokerage_account``     1       an account by type: id, cash, buying power
``get_stock_quote``           0       bid/ask/last of a symbol, with a quote id
``place_stock_order``         2       buys or sells at a quote id (order routing: slow)
``get_stock_order_status``    1       fill status, average fill price, fees, settlement
``get_portfolio_positions``   1       an account's holdings, largest first, and totals
``transfer_brokerage_cash``   3       moves cash between two accounts (slow)
============================ ======= ==================================================

(the middle column is the declared latency in rounds.)

Why the backends are order-independent
--------------------------------------
Nothing a tool does changes the world: an order does not change the cash or the positions
that a later call reports, and a transfer does not move money that a later call could see.
Orders and transfers are checked against the accounts' balances and holdings as the world
fixes them. Ids are *signed tokens*: base-32 characters that encode what the id stands for
(a quote id its symbol; an order id its account, symbol, side and quantity), scrambled and
followed by a check computed from the world's seed, so a tool decodes the id and verifies
the check by recomputation, without a registry. Transfer ids are hashes of the arguments
(:func:`stable_id`). Placing the same order twice gives the same order id, and an agent
that interleaves tasks sees what one that runs them one by one sees. Account numbers, quote
ids and order ids are world-specific, so a later step can only learn them from an earlier
response.

The templates
-------------
========================= ===== ==============================================================
``buy_shares``             3     get_brokerage_account and get_stock_quote in parallel ->
                                 place_stock_order (fan-in)
``sell_largest_position``  3     get_portfolio_positions (an account id given in the
                                 instruction) -> get_stock_quote of its largest or second
                                 largest holding -> place_stock_order selling all (chain)
``fund_and_buy``           5     two accounts in parallel -> transfer (fan-in); a quote; the
                                 buy joins the target account and the quote (fan-in)
``cheaper_stock``          4     two quotes and an account in parallel -> buy the cheaper
                                 stock (fan-in: the order waits for both quotes)
``move_cash``              3     two accounts in parallel -> transfer_brokerage_cash (fan-in)
``trim_position``          4     account -> positions -> quote of the largest holding -> sell
                                 part of it (a chain)
========================= ===== ==============================================================

Evolution hooks
---------------
A constant account id can be revealed by ``get_brokerage_account`` of its type (lookup). An
order can be followed by its status (the sentence asks for the average fill price) and a
positions list by a quote of its third-largest holding (its ask price); a watchlist quote
(its ask price) is the side step. Each read's sentence asks for the value the answer then
requires, and names the order (side, quantity) or the account it is about.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    stable_id,
    world_digest,
)
from asynctool_env.core.tools import ToolError, tool

#: Tradable stocks: (symbol, company, typical price in USD).
SYMBOLS: tuple[tuple[str, str, int], ...] = (
    ("AAPL", "Apple Inc.", 195),
    ("MSFT", "Microsoft Corp.", 420),
    ("NVDA", "NVIDIA Corp.", 125),
    ("AMZN", "Amazon.com Inc.", 185),
    ("GOOGL", "Alphabet Inc. Class A", 175),
    ("META", "Meta Platforms Inc.", 500),
    ("TSLA", "Tesla Inc.", 240),
    ("JPM", "JPMorgan Chase & Co.", 200),
    ("V", "Visa Inc.", 275),
    ("KO", "The Coca-Cola Co.", 62),
    ("PEP", "PepsiCo Inc.", 170),
    ("DIS", "The Walt Disney Co.", 100),
    ("NFLX", "Netflix Inc.", 650),
    ("AMD", "Advanced Micro Devices Inc.", 160),
    ("XOM", "Exxon Mobil Corp.", 115),
    ("JNJ", "Johnson & Johnson", 155),
    ("WMT", "Walmart Inc.", 68),
    ("COST", "Costco Wholesale Corp.", 850),
    ("INTC", "Intel Corp.", 31),
    ("BA", "The Boeing Co.", 180),
)
_SYMBOL_INDEX: dict[str, int] = {symbol: index for index, (symbol, _, _) in enumerate(SYMBOLS)}
#: Holdings and the templates' trades use the first symbols; the last ones are the watchlist
#: of the side step, so that a side step never repeats a template's quote.
_N_TRADED = 16
#: Account types; every world has the first one and two of the others.
ACCOUNT_TYPES: tuple[str, ...] = (
    "Individual Brokerage",
    "Joint Brokerage",
    "Roth IRA",
    "Traditional IRA",
    "Family Trust",
)
_IRAS = frozenset({"Roth IRA", "Traditional IRA"})
OWNERS: tuple[str, ...] = (
    "Rachel Green",
    "Samir Khan",
    "Olivia Bennett",
    "Marco Rossi",
    "Grace Liu",
    "Tomás Herrera",
    "Eleanor Price",
    "Kwame Mensah",
)
N_ACCOUNTS = 3
IRA_LIMIT = 7000.0  # yearly contribution limit: the most a transfer may put into an IRA
MAX_QUANTITY = 100_000
QUOTE_SECONDS = 30
SEC_FEE_RATE = 0.0000278  # charged on sales
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_B32_INDEX: dict[str, int] = {char: index for index, char in enumerate(_B32)}
_QUOTE_ID = re.compile(r"^QT-([0-9A-Z]{2})([0-9A-Z]{6})$")
_ORDER_ID = re.compile(r"^TRD-([0-9A-Z]{5})([0-9A-Z]{4})$")
_FIRST_DAY = dt.date(2025, 6, 2).toordinal()  # a Monday


@dataclass(frozen=True)
class TradingWorld:
    """The state the trading tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (prices, holdings, fills, id checks).
        owner: Name of the investor who holds the accounts.
        types: Index in :data:`ACCOUNT_TYPES` of each account's type.
        numbers: Eight-digit number of each account (``ACCT-<number>`` is its id).
        cash: Cash balance of each account, in cents.
        day: Ordinal of the trading day (a weekday).
        minute: Minutes after midnight (market hours, 09:30 to 16:00).
    """

    seed: int
    owner: str
    types: tuple[int, ...]
    numbers: tuple[int, ...]
    cash: tuple[int, ...]
    day: int
    minute: int

    @property
    def account_ids(self) -> list[str]:
        return [f"ACCT-{number:08d}" for number in self.numbers]

    def type_names(self) -> list[str]:
        return [ACCOUNT_TYPES[index] for index in self.types]


def make_world(rng: np.random.Generator) -> TradingWorld:
    """A world drawn from ``rng`` only: an owner, three accounts, a trading day and time."""
    draws = rng.random(len(ACCOUNT_TYPES) + 2 * N_ACCOUNTS + 4).tolist()
    others = sorted(range(1, len(ACCOUNT_TYPES)), key=draws.__getitem__)[: N_ACCOUNTS - 1]
    base = len(ACCOUNT_TYPES)
    numbers = [10_000_000 + int(value * 89_999_999) for value in draws[base : base + N_ACCOUNTS]]
    while len(set(numbers)) < len(numbers):  # practically never
        numbers = [number + index for index, number in enumerate(numbers)]
    cash = [
        100 * (2_000 + int(value * 58_000)) + int(value * 1e6) % 100
        for value in draws[base + N_ACCOUNTS : base + 2 * N_ACCOUNTS]
    ]
    week, weekday = divmod(int(draws[-2] * 60), 5)
    return TradingWorld(
        seed=int(draws[-1] * 2**52),
        owner=OWNERS[int(draws[-3] * len(OWNERS))],
        types=(0, *others),
        numbers=tuple(numbers),
        cash=tuple(cash),
        day=_FIRST_DAY + 7 * week + weekday,
        minute=9 * 60 + 35 + 5 * int(draws[-4] * 76),  # 09:35 to 15:50
    )


# -- pure helpers ---------------------------------------------------------------------------


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=32)


def _b32(value: int, width: int) -> str:
    return "".join(_B32[value >> 5 * (width - 1 - k) & 31] for k in range(width))


def _encode(world: TradingWorld, kind: str, value: int, width: int) -> str:
    """``value`` as ``width`` base-32 characters, scrambled by a mask of the world."""
    mask = int.from_bytes(_digest(world.seed, "mask", kind)[:8], "big")
    return _b32(value ^ mask & (1 << 5 * width) - 1, width)


def _decode(world: TradingWorld, kind: str, text: str) -> int | None:
    if not all(char in _B32_INDEX for char in text):
        return None
    value = 0
    for char in text:
        value = value * 32 + _B32_INDEX[char]
    mask = int.from_bytes(_digest(world.seed, "mask", kind)[:8], "big")
    return value ^ mask & (1 << 5 * len(text)) - 1


def _check(world: TradingWorld, kind: str, body: str, width: int) -> str:
    return _b32(int.from_bytes(_digest(world.seed, "check", kind, body)[:8], "big"), width)


def _money(value: float) -> float:
    return round(value + 1e-9, 2)


def _now(world: TradingWorld) -> dt.datetime:
    return dt.datetime.fromordinal(world.day) + dt.timedelta(minutes=world.minute)


def _symbol(symbol: str) -> int:
    wanted = symbol.strip().upper().removeprefix("$")
    if wanted not in _SYMBOL_INDEX:
        raise ToolError(f"unknown symbol {symbol!r}; tradable symbols: {', '.join(_SYMBOL_INDEX)}")
    return _SYMBOL_INDEX[wanted]


def _price(world: TradingWorld, index: int) -> dict[str, float]:
    """Last trade, bid and ask of a symbol (a pure function of the world)."""
    bits = _digest(world.seed, "price", SYMBOLS[index][0])
    last = _money(SYMBOLS[index][2] * (0.85 + 0.3 * int.from_bytes(bits[:4], "big") / 2**32))
    spread = max(0.01, _money(last * (0.0001 + 0.0004 * bits[4] / 255)))
    return {"last": last, "bid": _money(last - spread / 2), "ask": _money(last + spread / 2)}


def _account(world: TradingWorld, account_id: str, role: str = "account_id") -> int:
    wanted = account_id.strip().upper()
    if wanted in world.account_ids:
        return world.account_ids.index(wanted)
    raise ToolError(f"unknown {role} {account_id!r}; use an account_id from get_brokerage_account")


def _positions(world: TradingWorld, account: int) -> list[dict[str, Any]]:
    """The holdings of an account, largest market value first (a pure function)."""
    bits = _digest(world.seed, "holdings", world.numbers[account])
    order = sorted(range(_N_TRADED), key=lambda index: (bits[index % 32] + 7 * index) % 251)
    positions = []
    for index in order[: 3 + bits[31] % 3]:
        quantity = 10 + _digest(world.seed, "qty", world.numbers[account], index)[0] % 30 * 10
        quote = _price(world, index)
        cost = _money(quote["last"] * (0.55 + 0.7 * bits[(index + 11) % 32] / 255))
        value = _money(quantity * quote["last"])
        positions.append(
            {
                "symbol": SYMBOLS[index][0],
                "company": SYMBOLS[index][1],
                "quantity": quantity,
                "avg_cost": cost,
                "last_price": quote["last"],
                "market_value": value,
                "unrealized_pl": _money(value - quantity * cost),
            }
        )
    positions.sort(key=lambda position: (-position["market_value"], position["symbol"]))
    return positions


def _quote_id(world: TradingWorld, index: int) -> str:
    body = _encode(world, "quote", index, 2)
    return f"QT-{body}{_check(world, 'quote', body, 6)}"


def _find_quote(world: TradingWorld, quote_id: str) -> int:
    hint = "get a fresh quote_id from get_stock_quote"
    wanted = quote_id.strip().upper()
    match = _QUOTE_ID.match(wanted)
    index = None if match is None else _decode(world, "quote", match.group(1))
    if match is None or index is None:
        raise ToolError(f"malformed quote_id {quote_id!r} (like 'QT-7KX2M9QA'); {hint}")
    if index >= len(SYMBOLS) or _check(world, "quote", match.group(1), 6) != match.group(2):
        raise ToolError(f"unknown or expired quote_id {quote_id!r}; {hint}")
    return index


def _order(world: TradingWorld, payload: int) -> dict[str, Any]:
    """What an order id stands for; ``payload`` packs account, symbol, side and quantity."""
    quantity, side = payload & 0x1FFFF, "sell" if payload >> 17 & 1 else "buy"
    symbol, account = payload >> 18 & 31, payload >> 23
    quote = _price(world, symbol)
    return {
        "account": account,
        "symbol": symbol,
        "side": side,
        "quantity": quantity,
        "price": quote["ask"] if side == "buy" else quote["bid"],
    }


def _settlement(world: TradingWorld) -> str:
    """T+1: the next weekday."""
    day = dt.date.fromordinal(world.day + 1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.isoformat()


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"account_type": "keyword"})
def get_brokerage_account(world: TradingWorld, account_type: str) -> dict[str, Any]:
    """Get one of your brokerage accounts by type: its account id, cash and buying power.

    Args:
        account_type: The account's type, e.g. "Individual Brokerage" or "Roth IRA".
    """
    wanted = " ".join(account_type.split()).casefold()
    if not wanted:
        raise ToolError("account_type must not be empty")
    names = world.type_names()
    matches = [i for i, name in enumerate(names) if name.casefold() == wanted]
    if not matches:
        matches = [i for i, name in enumerate(names) if wanted in name.casefold()]
    if len(matches) != 1:
        problem = "matches several accounts" if matches else "matches no account"
        raise ToolError(f"{account_type!r} {problem}; your accounts are: {', '.join(names)}")
    index = matches[0]
    cash = world.cash[index] / 100
    return {
        "account_id": world.account_ids[index],
        "account_type": names[index],
        "owner": world.owner,
        "status": "active",
        "cash_balance": cash,
        "buying_power": cash,
        "currency": "USD",
    }


@tool(latency=0, canonical={"symbol": "symbol"})
def get_stock_quote(world: TradingWorld, symbol: str) -> dict[str, Any]:
    """Get a real-time quote (bid, ask, last) for a stock, with a quote_id to trade at it.

    Args:
        symbol: Ticker symbol, e.g. "AAPL".
    """
    index = _symbol(symbol)
    return {
        "quote_id": _quote_id(world, index),
        "symbol": SYMBOLS[index][0],
        "company": SYMBOLS[index][1],
        **_price(world, index),
        "currency": "USD",
        "quoted_at": _now(world).isoformat(timespec="minutes"),
        "valid_for_seconds": QUOTE_SECONDS,
    }


@tool(
    latency=2,
    writes=True,
    canonical={"account_id": "symbol", "quote_id": "symbol", "side": "keyword"},
)
def place_stock_order(
    world: TradingWorld, account_id: str, quote_id: str, side: str, quantity: int
) -> dict[str, Any]:
    """Place a market order at a quote: buys fill at the ask, sells at the bid.

    Args:
        account_id: An account_id from get_brokerage_account.
        quote_id: A quote_id from get_stock_quote; fixes the stock and the price.
        side: "buy" or "sell".
        quantity: Number of shares, 1 to 100000.
    """
    account = _account(world, account_id)
    symbol = _find_quote(world, quote_id)
    direction = side.strip().lower()
    if direction not in ("buy", "sell"):
        raise ToolError(f"side must be 'buy' or 'sell', got {side!r}")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ToolError(f"quantity must be between 1 and {MAX_QUANTITY}, got {quantity}")
    quote = _price(world, symbol)
    ticker = SYMBOLS[symbol][0]
    if direction == "buy":
        price = quote["ask"]
        cost = _money(price * quantity)
        if cost > world.cash[account] / 100:
            raise ToolError(
                f"insufficient buying power: {quantity} {ticker} at {price} costs {cost}, "
                f"the account has {world.cash[account] / 100}"
            )
    else:
        price = quote["bid"]
        held = {p["symbol"]: p["quantity"] for p in _positions(world, account)}.get(ticker, 0)
        if quantity > held:
            raise ToolError(
                f"cannot sell {quantity} {ticker}: the account holds {held} (no short selling)"
            )
    payload = ((account * 32 + symbol) * 2 + (direction == "sell")) << 17 | quantity
    body = _encode(world, "order", payload, 5)
    return {
        "order_id": f"TRD-{body}{_check(world, 'order', body, 4)}",
        "status": "accepted",
        "account_id": world.account_ids[account],
        "side": direction,
        "symbol": ticker,
        "quantity": quantity,
        "quote_price": price,
        "estimated_total": _money(price * quantity),
        "currency": "USD",
    }


@tool(latency=1, canonical={"order_id": "symbol"})
def get_stock_order_status(world: TradingWorld, order_id: str) -> dict[str, Any]:
    """Get an order's status: filled quantity, average fill price, fees and settlement date.

    Args:
        order_id: An order_id returned by place_stock_order.
    """
    hint = "use an order_id returned by place_stock_order"
    wanted = order_id.strip().upper()
    match = _ORDER_ID.match(wanted)
    payload = None if match is None else _decode(world, "order", match.group(1))
    if match is None or payload is None:
        raise ToolError(f"malformed order_id {order_id!r} (like 'TRD-5MZQ2K7C1'); {hint}")
    order = _order(world, payload)
    if (
        _check(world, "order", match.group(1), 4) != match.group(2)
        or order["account"] >= len(world.numbers)
        or order["symbol"] >= len(SYMBOLS)
    ):
        raise ToolError(f"no order {order_id!r}; {hint}")
    improvement = _digest(world.seed, "fill", wanted)[0] % 3 / 100  # 0 to 2 cents better
    fill = _money(
        order["price"] - improvement if order["side"] == "buy" else order["price"] + improvement
    )
    gross = _money(fill * order["quantity"])
    fees = max(0.01, _money(gross * SEC_FEE_RATE)) if order["side"] == "sell" else 0.0
    filled_at = _now(world) + dt.timedelta(seconds=1 + _digest(world.seed, "at", wanted)[0] % 9)
    return {
        "order_id": wanted,
        "status": "filled",
        "account_id": world.account_ids[order["account"]],
        "side": order["side"],
        "symbol": SYMBOLS[order["symbol"]][0],
        "quantity": order["quantity"],
        "filled_quantity": order["quantity"],
        "avg_fill_price": fill,
        "gross_amount": gross,
        "fees": fees,
        "net_amount": _money(gross + fees if order["side"] == "buy" else gross - fees),
        "filled_at": filled_at.isoformat(timespec="seconds"),
        "settlement_date": _settlement(world),
    }


@tool(latency=1, canonical={"account_id": "symbol"})
def get_portfolio_positions(world: TradingWorld, account_id: str) -> dict[str, Any]:
    """List an account's stock positions, largest market value first, with cash and totals.

    Args:
        account_id: An account_id from get_brokerage_account.
    """
    account = _account(world, account_id)
    positions = _positions(world, account)
    invested = _money(sum(position["market_value"] for position in positions))
    cash = world.cash[account] / 100
    return {
        "account_id": world.account_ids[account],
        "account_type": ACCOUNT_TYPES[world.types[account]],
        "positions": positions,
        "cash_balance": cash,
        "positions_value": invested,
        "total_value": _money(invested + cash),
        "currency": "USD",
    }


@tool(latency=3, writes=True, canonical={"from_account_id": "symbol", "to_account_id": "symbol"})
def transfer_brokerage_cash(
    world: TradingWorld, from_account_id: str, to_account_id: str, amount: float
) -> dict[str, Any]:
    """Move cash between two of your accounts (at most $7,000 into an IRA; none out of one).

    Args:
        from_account_id: account_id (from get_brokerage_account) to take the cash from.
        to_account_id: account_id (from get_brokerage_account) to put the cash into.
        amount: Amount in USD, more than 0 and at most the source's cash balance.
    """
    source = _account(world, from_account_id, "from_account_id")
    target = _account(world, to_account_id, "to_account_id")
    if source == target:
        raise ToolError("from_account_id and to_account_id must be different accounts")
    source_type, target_type = (
        ACCOUNT_TYPES[world.types[source]],
        ACCOUNT_TYPES[world.types[target]],
    )
    if source_type in _IRAS:
        raise ToolError(f"cash cannot be transferred out of the {source_type} (a withdrawal)")
    if not math.isfinite(amount) or amount <= 0 or round(amount, 2) != amount:
        raise ToolError(f"amount must be a positive number of dollars and cents, got {amount}")
    available = world.cash[source] / 100
    if amount > available:
        raise ToolError(f"insufficient cash: the {source_type} account has {available}")
    if target_type in _IRAS and amount > IRA_LIMIT:
        raise ToolError(f"at most {IRA_LIMIT:.0f} can be contributed to the {target_type}")
    cents = round(amount * 100)
    return {
        "transfer_id": stable_id("TRF", world.seed, source, target, cents),
        "status": "completed",
        "from_account_id": world.account_ids[source],
        "to_account_id": world.account_ids[target],
        "amount": cents / 100,
        "currency": "USD",
        "completed_at": _now(world).isoformat(timespec="minutes"),
    }


# -- templates ------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _two_symbols(rng: np.random.Generator) -> tuple[int, int]:
    first, second = rng.permutation(_N_TRADED)[:2]
    return int(first), int(second)


def _affordable(world: TradingWorld, account: int, price: float, rng: np.random.Generator) -> int:
    """A share count of at most about half the account's cash at ``price`` (at least 1)."""
    most = max(1, min(200, int(world.cash[account] / 100 / 2 / price)))
    return 1 + int(rng.integers(most))


def _shares(quantity: int) -> str:
    return f"{quantity} share" + ("s" if quantity > 1 else "")


def buy_shares(world: TradingWorld, rng: np.random.Generator) -> TaskSpec:
    """Account and quote in parallel, then the buy joins them (3 steps, fan-in)."""
    account = int(rng.integers(N_ACCOUNTS))
    symbol = int(rng.integers(_N_TRADED))
    ticker = SYMBOLS[symbol][0]
    quantity = _affordable(world, account, _price(world, symbol)["ask"], rng)
    kind = ACCOUNT_TYPES[world.types[account]]
    return TaskSpec(
        instruction=(
            f"Buy {_shares(quantity)} of {ticker} in my {kind} account at the current quote. "
            "Tell me the order id and the estimated total."
        ),
        steps=(
            StepSpec("get_brokerage_account", {"account_type": kind}),
            StepSpec("get_stock_quote", {"symbol": ticker}),
            StepSpec(
                "place_stock_order",
                {
                    "account_id": "${s0.account_id}",
                    "quote_id": "${s1.quote_id}",
                    "side": "buy",
                    "quantity": quantity,
                },
            ),
        ),
        answer="${s2.order_id} (${s2.estimated_total} USD)",
    )


def sell_largest_position(world: TradingWorld, rng: np.random.Generator) -> TaskSpec:
    """Positions of a given account id, quote the (second) largest, sell all of it (3)."""
    account = int(rng.integers(N_ACCOUNTS))
    account_id = world.account_ids[account]
    rank = int(rng.integers(2))
    which = ("largest", "second-largest")[rank]
    return TaskSpec(
        instruction=(
            f"In {account_id}, sell the whole position with the {which} market value at the "
            "current quote, and tell me the order id."
        ),
        steps=(
            StepSpec("get_portfolio_positions", {"account_id": account_id}),
            StepSpec("get_stock_quote", {"symbol": f"${{s0.positions.{rank}.symbol}}"}),
            StepSpec(
                "place_stock_order",
                {
                    "account_id": "${s0.account_id}",
                    "quote_id": "${s1.quote_id}",
                    "side": "sell",
                    "quantity": f"${{s0.positions.{rank}.quantity}}",
                },
            ),
        ),
        answer="${s2.order_id}",
    )


def _transfer_pair(world: TradingWorld, rng: np.random.Generator) -> tuple[int, int, float]:
    """A source (not an IRA), another account, and an amount the transfer allows."""
    sources = [i for i in range(N_ACCOUNTS) if ACCOUNT_TYPES[world.types[i]] not in _IRAS]
    source = _choice(rng, sources)
    target = _choice(rng, [i for i in range(N_ACCOUNTS) if i != source])
    most = world.cash[source] / 100
    if ACCOUNT_TYPES[world.types[target]] in _IRAS:
        most = min(most, IRA_LIMIT)
    amount = 100.0 * (1 + int(rng.integers(int(most // 100))))
    return source, target, amount


def fund_and_buy(world: TradingWorld, rng: np.random.Generator) -> TaskSpec:
    """Transfer between two accounts and buy in the target (5 steps, two joins)."""
    source, target, amount = _transfer_pair(world, rng)
    symbol = int(rng.integers(_N_TRADED))
    ticker = SYMBOLS[symbol][0]
    quantity = _affordable(world, target, _price(world, symbol)["ask"], rng)
    names = [ACCOUNT_TYPES[world.types[i]] for i in (source, target)]
    return TaskSpec(
        instruction=(
            f"Move ${amount:,.2f} from my {names[0]} account to my {names[1]} account, and "
            f"buy {_shares(quantity)} of {ticker} in the {names[1]} account at the current "
            "quote. Tell me the transfer id and the order id."
        ),
        steps=(
            StepSpec("get_brokerage_account", {"account_type": names[0]}),
            StepSpec("get_brokerage_account", {"account_type": names[1]}),
            StepSpec(
                "transfer_brokerage_cash",
                {
                    "from_account_id": "${s0.account_id}",
                    "to_account_id": "${s1.account_id}",
                    "amount": amount,
                },
            ),
            StepSpec("get_stock_quote", {"symbol": ticker}),
            StepSpec(
                "place_stock_order",
                {
                    "account_id": "${s1.account_id}",
                    "quote_id": "${s3.quote_id}",
                    "side": "buy",
                    "quantity": quantity,
                },
            ),
        ),
        answer="${s2.transfer_id} ${s4.order_id}",
    )


def cheaper_stock(world: TradingWorld, rng: np.random.Generator) -> TaskSpec:
    """Two quotes and an account in parallel, buy the cheaper stock (4 steps, fan-in)."""
    first, second = _two_symbols(rng)
    asks = [_price(world, index)["ask"] for index in (first, second)]
    while asks[0] == asks[1]:  # "the cheaper" must be unambiguous
        first, second = _two_symbols(rng)
        asks = [_price(world, index)["ask"] for index in (first, second)]
    cheaper = int(asks[1] < asks[0])
    account = int(rng.integers(N_ACCOUNTS))
    quantity = _affordable(world, account, max(asks), rng)
    kind = ACCOUNT_TYPES[world.types[account]]
    tickers = [SYMBOLS[index][0] for index in (first, second)]
    return TaskSpec(
        instruction=(
            f"Get quotes for {tickers[0]} and {tickers[1]}, and buy {_shares(quantity)} of "
            f"whichever has the lower ask price in my {kind} account. Tell me the order id."
        ),
        steps=(
            StepSpec("get_stock_quote", {"symbol": tickers[0]}),
            StepSpec("get_stock_quote", {"symbol": tickers[1]}),
            StepSpec("get_brokerage_account", {"account_type": kind}),
            StepSpec(
                "place_stock_order",
                {
                    "account_id": "${s2.account_id}",
                    "quote_id": f"${{s{cheaper}.quote_id}}",
                    "side": "buy",
                    "quantity": quantity,
                },
                # which quote is cheaper is only known once both have arrived
                after=(1 - cheaper,),
            ),
        ),
        answer="${s3.order_id}",
    )


def move_cash(world: TradingWorld, rng: np.random.Generator) -> TaskSpec:
    """Two accounts in parallel, a transfer joining them (3 steps, fan-in)."""
    source, target, amount = _transfer_pair(world, rng)
    names = [ACCOUNT_TYPES[world.types[i]] for i in (source, target)]
    return TaskSpec(
        instruction=(
            f"Transfer ${amount:,.2f} from my {names[0]} account to my {names[1]} account "
            "and tell me the transfer id."
        ),
        steps=(
            StepSpec("get_brokerage_account", {"account_type": names[0]}),
            StepSpec("get_brokerage_account", {"account_type": names[1]}),
            StepSpec(
                "transfer_brokerage_cash",
                {
                    "from_account_id": "${s0.account_id}",
                    "to_account_id": "${s1.account_id}",
                    "amount": amount,
                },
            ),
        ),
        answer="${s2.transfer_id}",
    )


def trim_position(world: TradingWorld, rng: np.random.Generator) -> TaskSpec:
    """Account -> positions -> quote of the largest -> sell part of it (4 steps, chain)."""
    account = int(rng.integers(N_ACCOUNTS))
    kind = ACCOUNT_TYPES[world.types[account]]
    largest = _positions(world, account)[0]
    quantity = 1 + int(rng.integers(largest["quantity"] // 2))
    return TaskSpec(
        instruction=(
            f"In my {kind} account, sell {_shares(quantity)} of the position with the largest "
            "market value at the current quote. Tell me which stock it was and the order id."
        ),
        steps=(
            StepSpec("get_brokerage_account", {"account_type": kind}),
            StepSpec("get_portfolio_positions", {"account_id": "${s0.account_id}"}),
            StepSpec("get_stock_quote", {"symbol": "${s1.positions.0.symbol}"}),
            StepSpec(
                "place_stock_order",
                {
                    "account_id": "${s0.account_id}",
                    "quote_id": "${s2.quote_id}",
                    "side": "sell",
                    "quantity": quantity,
                },
            ),
        ),
        answer="${s3.symbol} ${s3.order_id}",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_account(world: TradingWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant account id -> get_brokerage_account of its type."""
    if not isinstance(value, str) or value.strip().upper() not in world.account_ids:
        return None
    kind = ACCOUNT_TYPES[world.types[world.account_ids.index(value.strip().upper())]]
    return {"account_type": kind}, "account_id", f"my {kind} account"


# Follow-ups and the side step avoid repeating a call a template already makes (the same
# tool with the same arguments twice in one task would be ambiguous to match): no template
# checks an order's status, quotes a third-largest holding, or quotes a watchlist symbol.
# Each is a read, and its sentence asks for the one value the answer then requires.


def _account_phrase(account_id: Any) -> str:
    """How a sentence names the account of a step's ``account_id`` argument."""
    if "${" not in str(account_id):
        return f"account {account_id}"
    # a reference: every template handles one account per positions list and per order
    return "the same account"


def _status_after_order(
    world: TradingWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """After an order: its status, asking for the average fill price."""
    order = followed.arguments
    shares = order["quantity"]
    what = f"{order['side']} order" + (
        f" for {_shares(int(shares))}" if "${" not in str(shares) else ""
    )
    return (
        StepSpec("get_stock_order_status", {"order_id": f"${{s{index}.order_id}}"}),
        f"Then check the status of the {what} and tell me its average fill price.",
        "avg_fill_price",
    )


def _quote_after_positions(
    world: TradingWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """After a positions list: a quote of its third-largest holding, asking for the ask."""
    account = _account_phrase(followed.arguments["account_id"])
    return (
        StepSpec("get_stock_quote", {"symbol": f"${{s{index}.positions.2.symbol}}"}),
        f"Then get a quote for the position with the third-largest market value in {account} "
        "and tell me its ask price.",
        "ask",
    )


def _side_quote(world: TradingWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    """A watchlist symbol's quote, asking for the ask price."""
    ticker = _choice(rng, SYMBOLS[_N_TRADED:])[0]
    return (
        StepSpec("get_stock_quote", {"symbol": ticker}),
        f"Also tell me the current ask price of {ticker}.",
        "ask",
    )


_ACCOUNT_LOOKUPS = tuple(
    LookupRule(argument, "get_brokerage_account", _lookup_account)
    for argument in ("account_id", "from_account_id", "to_account_id")
)

SCENARIO = Scenario(
    name="trading",
    category="Trading",
    description=(
        "Trade stocks in your brokerage accounts: look up accounts and positions, get "
        "quotes, place orders and check their fills, and move cash between accounts."
    ),
    make_world=make_world,
    tools=(
        get_brokerage_account,
        get_stock_quote,
        place_stock_order,
        get_stock_order_status,
        get_portfolio_positions,
        transfer_brokerage_cash,
    ),
    templates={
        "buy_shares": buy_shares,
        "sell_largest_position": sell_largest_position,
        "fund_and_buy": fund_and_buy,
        "cheaper_stock": cheaper_stock,
        "move_cash": move_cash,
        "trim_position": trim_position,
    },
    lookups=_ACCOUNT_LOOKUPS,
    follow_ups=(
        FollowUpRule("place_stock_order", _status_after_order),
        FollowUpRule("get_portfolio_positions", _quote_after_positions),
    ),
    side_steps=(SideStepRule("watchlist_quote", _side_quote),),
)
