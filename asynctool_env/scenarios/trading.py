"""Trading: brokerage accounts, stock quotes, orders and fills, positions, cash transfers.

The world
---------
A :class:`TradingWorld` is one investor's brokerage: three accounts (an individual
brokerage account and two more drawn from :data:`ACCOUNT_TYPES`, each with a world-specific
eight-digit number and a cash balance), the trading day and time, and a ``seed``. The
market (the price of every symbol of :data:`SYMBOLS`, its bid and ask) and the holdings the
accounts already have (3 to 5 positions each, with quantities and average costs) are fixed
by the world but not stored: they are a pure function of ``seed`` and the symbol or
account, derived from a hash when asked for (:func:`_price`, :func:`_seed_holdings`), so
a world costs under ten microseconds to build. What calls change (cash, holdings, orders,
transfers) is kept in its state (see *State*).

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

State
-----
What the seed says (the accounts' opening cash, the holdings they open with, the market) is
derived on demand; what calls change is kept in the world's
:class:`~asynctool_env.core.state.WorldState`, one object per thing:

* ``("cash", ACCT-id)``: an account's cash once a transfer or an order changed it
  (``{"account_id", "cash"}``, dollars and cents);
* ``("position", ACCT-id, SYMBOL)``: a holding once an order changed it (``{"symbol",
  "quantity", "avg_cost"}``; a position sold down to 0 shares stays as quantity 0, so the
  seed's holding does not come back);
* ``("order", TRD-id)``: every order placed, with its fill (price, fees, net amount, time);
* ``("transfer", TRF-id)``: every transfer made;
* ``("#made", "order", payload)``: how many identical orders (account, symbol, side,
  quantity) were placed, which numbers the next one's id.

What each write does: ``transfer_brokerage_cash`` takes the amount from the source's cash
and adds it to the target's (refused when the source's *current* cash is short);
``place_stock_order`` fills at once at the quote's side (a buy at the ask, a sell at the
bid, up to two cents better) and books the fill: a buy takes its net amount from the cash
and adds the shares (the average cost follows), a sell removes the shares and adds its net
amount (gross less the SEC fee) to the cash. Buys are checked against the current cash
(at the quoted price), sells against the current holding. What each read sees:
``get_brokerage_account`` and ``get_portfolio_positions`` show the current cash and
holdings, ``get_stock_order_status`` reads the order object (an id that no call made is
unknown).

Ids: an order id is a *signed token* (base-32 characters that encode its account, symbol,
side and quantity, scrambled and followed by a check computed from the world's seed), so
it cannot be guessed; the first order of a content keeps the id it had in dataset v2 and
the n-th identical one encodes n as well (a longer id), so placing an order twice makes a
second order with a new id. Transfer ids come from
:meth:`~asynctool_env.core.state.WorldState.new_id` with the transfer's accounts and
amount (the first has its v2 id, a repeat gets a new one). Account numbers, quote ids and
order ids are world-specific, so a later step can only learn them from an earlier
response.

Keys are per account (cash), per account and symbol (a position), per order and per
transfer: tasks on different accounts never touch a common object, so they commute; two
tasks on one account share its cash (as a real account does) and do not.

Quotes do not expire. The market stands still at the world's date and time for the whole
episode (prices are a function of the seed), so a quote_id stays good and an order fills
at its price however many rounds later it is placed; a quote therefore carries no validity
period (v2's ``valid_for_seconds`` meant nothing in a world that counts rounds, not
seconds, and was removed).

The templates
-------------
========================= ===== ==============================================================
``buy_shares``             3     get_brokerage_account and get_stock_quote in parallel ->
                                 place_stock_order (fan-in)
``sell_largest_position``  3     get_portfolio_positions (an account id given in the
                                 instruction) -> get_stock_quote of its largest or second
                                 largest holding -> place_stock_order selling all (chain)
``fund_and_buy``           5     two accounts in parallel -> transfer (fan-in); a quote; the
                                 buy joins the target account and the quote (fan-in) and
                                 waits for the transfer ("then buy": an explicit order)
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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    world_digest,
)
from asynctool_env.core.state import WorldState
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
SEC_FEE_RATE = 0.0000278  # charged on sales
_B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_B32_INDEX: dict[str, int] = {char: index for index, char in enumerate(_B32)}
_QUOTE_ID = re.compile(r"^QT-([0-9A-Z]{2})([0-9A-Z]{6})$")
#: An order id: TRD-, a body of 5 characters (the first order of its content) or more (a
#: repeat), and 4 check characters.
_ORDER_ID = re.compile(r"^TRD-((?:[0-9A-Z]{2})*[0-9A-Z]{5})([0-9A-Z]{4})$")
#: Bits of an order payload (account, symbol, side, quantity); a repeat's number goes above.
_ORDER_BITS = 25
_FIRST_DAY = dt.date(2025, 6, 2).toordinal()  # a Monday


@dataclass(frozen=True)
class TradingWorld:
    """The state the trading tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (prices, holdings, fills, id checks).
        owner: Name of the investor who holds the accounts.
        types: Index in :data:`ACCOUNT_TYPES` of each account's type.
        numbers: Eight-digit number of each account (``ACCT-<number>`` is its id).
        cash: Opening cash balance of each account, in cents (what calls changed is in
            ``state``).
        day: Ordinal of the trading day (a weekday).
        minute: Minutes after midnight (market hours, 09:30 to 16:00).
        state: Cash, holdings, orders and transfers that calls changed or made (see *State*
            in the module docstring).
    """

    seed: int
    owner: str
    types: tuple[int, ...]
    numbers: tuple[int, ...]
    cash: tuple[int, ...]
    day: int
    minute: int
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)

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


def _seed_holdings(world: TradingWorld, account: int) -> dict[int, tuple[int, float]]:
    """The holdings an account opens with: symbol index -> (quantity, average cost)."""
    bits = _digest(world.seed, "holdings", world.numbers[account])
    order = sorted(range(_N_TRADED), key=lambda index: (bits[index % 32] + 7 * index) % 251)
    holdings = {}
    for index in order[: 3 + bits[31] % 3]:
        quantity = 10 + _digest(world.seed, "qty", world.numbers[account], index)[0] % 30 * 10
        cost = _money(_price(world, index)["last"] * (0.55 + 0.7 * bits[(index + 11) % 32] / 255))
        holdings[index] = (quantity, cost)
    return holdings


def _holdings(world: TradingWorld, account: int) -> dict[int, tuple[int, float]]:
    """An account's current holdings: the seed's, overlaid by the positions orders changed
    (symbol index -> (quantity, average cost); a sold-out position has quantity 0)."""
    holdings = _seed_holdings(world, account)
    for _, position in world.state.scan("position", world.account_ids[account]):
        holdings[_SYMBOL_INDEX[position["symbol"]]] = (position["quantity"], position["avg_cost"])
    return holdings


def _positions(world: TradingWorld, account: int) -> list[dict[str, Any]]:
    """The current positions of an account, largest market value first."""
    positions = []
    for index, (quantity, cost) in _holdings(world, account).items():
        if quantity <= 0:
            continue
        last = _price(world, index)["last"]
        value = _money(quantity * last)
        positions.append(
            {
                "symbol": SYMBOLS[index][0],
                "company": SYMBOLS[index][1],
                "quantity": quantity,
                "avg_cost": cost,
                "last_price": last,
                "market_value": value,
                "unrealized_pl": _money(value - quantity * cost),
            }
        )
    positions.sort(key=lambda position: (-position["market_value"], position["symbol"]))
    return positions


def _cash(world: TradingWorld, account: int) -> int:
    """An account's current cash, in cents."""
    stored = world.state.get(("cash", world.account_ids[account]))
    return world.cash[account] if stored is None else round(stored["cash"] * 100)


def _set_cash(world: TradingWorld, account: int, cents: int) -> None:
    account_id = world.account_ids[account]
    world.state.put(("cash", account_id), {"account_id": account_id, "cash": cents / 100})


def _quote_id(world: TradingWorld, index: int) -> str:
    body = _encode(world, "quote", index, 2)
    return f"QT-{body}{_check(world, 'quote', body, 6)}"


def _find_quote(world: TradingWorld, quote_id: str) -> int:
    hint = "use a quote_id returned by get_stock_quote"
    wanted = quote_id.strip().upper()
    match = _QUOTE_ID.match(wanted)
    index = None if match is None else _decode(world, "quote", match.group(1))
    if match is None or index is None:
        raise ToolError(f"malformed quote_id {quote_id!r} (like 'QT-7KX2M9QA'); {hint}")
    if index >= len(SYMBOLS) or _check(world, "quote", match.group(1), 6) != match.group(2):
        raise ToolError(f"unknown quote_id {quote_id!r}; {hint}")
    return index


def _order_id(world: TradingWorld, payload: int, repeat: int) -> str:
    """The signed id of the ``repeat``-th order (0 for the first) of ``payload``: 5 body
    characters for the first (its v2 id), 2 more per 10 bits a repeat's number needs."""
    value = repeat << _ORDER_BITS | payload
    width = 5
    while value >> 5 * width:
        width += 2
    body = _encode(world, "order", value, width)
    return f"TRD-{body}{_check(world, 'order', body, 4)}"


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
    cash = _cash(world, index) / 100
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
    cash = _cash(world, account)
    held, cost = _holdings(world, account).get(symbol, (0, 0.0))
    if direction == "buy":
        price = quote["ask"]
        estimate = _money(price * quantity)
        if round(estimate * 100) > cash:
            raise ToolError(
                f"insufficient buying power: {quantity} {ticker} at {price} costs {estimate}, "
                f"the account has {cash / 100}"
            )
    else:
        price = quote["bid"]
        estimate = _money(price * quantity)
        if quantity > held:
            raise ToolError(
                f"cannot sell {quantity} {ticker}: the account holds {held} (no short selling)"
            )
    # every check passed: the order is placed and fills at once
    payload = ((account * 32 + symbol) * 2 + (direction == "sell")) << 17 | quantity
    counter = ("#made", "order", str(payload))
    repeat = world.state.get(counter, 0)
    world.state.put(counter, repeat + 1)
    order_id = _order_id(world, payload, repeat)
    improvement = _digest(world.seed, "fill", order_id)[0] % 3 / 100  # 0 to 2 cents better
    fill = _money(price - improvement if direction == "buy" else price + improvement)
    gross = _money(fill * quantity)
    fees = max(0.01, _money(gross * SEC_FEE_RATE)) if direction == "sell" else 0.0
    net = _money(gross + fees if direction == "buy" else gross - fees)
    filled_at = _now(world) + dt.timedelta(seconds=1 + _digest(world.seed, "at", order_id)[0] % 9)
    account_id = world.account_ids[account]
    if direction == "buy":
        _set_cash(world, account, cash - round(net * 100))
        total = held + quantity
        cost = _money((held * cost + quantity * fill) / total)
    else:
        _set_cash(world, account, cash + round(net * 100))
        total = held - quantity
    world.state.put(
        ("position", account_id, ticker),
        {"symbol": ticker, "quantity": total, "avg_cost": cost},
    )
    world.state.put(
        ("order", order_id),
        {
            "order_id": order_id,
            "status": "filled",
            "account_id": account_id,
            "side": direction,
            "symbol": ticker,
            "quantity": quantity,
            "quote_price": price,
            "filled_quantity": quantity,
            "avg_fill_price": fill,
            "gross_amount": gross,
            "fees": fees,
            "net_amount": net,
            "filled_at": filled_at.isoformat(timespec="seconds"),
            "settlement_date": _settlement(world),
        },
    )
    return {
        "order_id": order_id,
        "status": "accepted",
        "account_id": account_id,
        "side": direction,
        "symbol": ticker,
        "quantity": quantity,
        "quote_price": price,
        "estimated_total": estimate,
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
    if match is None or _decode(world, "order", match.group(1)) is None:
        raise ToolError(f"malformed order_id {order_id!r} (like 'TRD-5MZQ2K7C1'); {hint}")
    order = None
    if _check(world, "order", match.group(1), 4) == match.group(2):
        order = world.state.get(("order", wanted))
    if order is None:
        raise ToolError(f"no order {order_id!r}; {hint}")
    return {
        key: order[key]
        for key in (
            "order_id",
            "status",
            "account_id",
            "side",
            "symbol",
            "quantity",
            "filled_quantity",
            "avg_fill_price",
            "gross_amount",
            "fees",
            "net_amount",
            "filled_at",
            "settlement_date",
        )
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
    cash = _cash(world, account) / 100
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
    available = _cash(world, source)
    if amount > available / 100:
        raise ToolError(f"insufficient cash: the {source_type} account has {available / 100}")
    if target_type in _IRAS and amount > IRA_LIMIT:
        raise ToolError(f"at most {IRA_LIMIT:.0f} can be contributed to the {target_type}")
    cents = round(amount * 100)
    # every check passed: the cash moves
    transfer_id = world.state.new_id("TRF", world.seed, source, target, cents)
    _set_cash(world, source, available - cents)
    _set_cash(world, target, _cash(world, target) + cents)
    transfer = {
        "transfer_id": transfer_id,
        "status": "completed",
        "from_account_id": world.account_ids[source],
        "to_account_id": world.account_ids[target],
        "amount": cents / 100,
        "currency": "USD",
        "completed_at": _now(world).isoformat(timespec="minutes"),
    }
    world.state.put(("transfer", transfer_id), transfer)
    return dict(transfer)


# -- templates ------------------------------------------------------------------------------


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _two_symbols(rng: np.random.Generator) -> tuple[int, int]:
    first, second = rng.permutation(_N_TRADED)[:2]
    return int(first), int(second)


def _affordable(world: TradingWorld, account: int, price: float, rng: np.random.Generator) -> int:
    """A share count of at most about half the account's cash at ``price`` (at least 1)."""
    most = max(1, min(200, int(_cash(world, account) / 100 / 2 / price)))
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
    most = _cash(world, source) / 100
    if ACCOUNT_TYPES[world.types[target]] in _IRAS:
        most = min(most, IRA_LIMIT)
    amount = 100.0 * (1 + int(rng.integers(int(most // 100))))
    return source, target, amount


def fund_and_buy(world: TradingWorld, rng: np.random.Generator) -> TaskSpec:
    """Transfer between two accounts, then buy in the target (5 steps, two joins).

    The buy changes the cash the transfer adds to, so the instruction orders them ("then")
    and the buy waits for the transfer (an explicit ``after``): any order the dependencies
    allow gives the gold responses and the gold final state.
    """
    source, target, amount = _transfer_pair(world, rng)
    symbol = int(rng.integers(_N_TRADED))
    ticker = SYMBOLS[symbol][0]
    quantity = _affordable(world, target, _price(world, symbol)["ask"], rng)
    names = [ACCOUNT_TYPES[world.types[i]] for i in (source, target)]
    return TaskSpec(
        instruction=(
            f"Move ${amount:,.2f} from my {names[0]} account to my {names[1]} account, then "
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
                # "then buy": the buy spends from the cash the transfer adds to
                after=(2,),
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
