"""Backend tests of the trading scenario, with values computed independently.

Prices and holdings come from a hash of the world's seed, so these tests check the
arithmetic and relations the tools promise: a position's value is its quantity times the
quoted last price, totals are sums of the listed items, positions are largest first, buys
fill at (or a little under) the ask and sells at (or a little over) the bid, the SEC fee is
0.00278% of a sale, settlement is the next weekday, and transfers obey the IRA rules.

The world is stateful: a transfer moves cash (both balances change), an order changes the
cash and the position and is read back by its status, a repeated write is a second object
with a new id, and a refused call changes nothing. The expected balances are computed here
by hand from what the reads showed before the write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from typing import Any

import numpy as np
import pytest

from asynctool_env.core.scenario import build_task
from asynctool_env.core.tools import ToolError
from asynctool_env.scenarios import trading

SCENARIO = trading.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
SEEDS = range(5)
ACCOUNT_TYPES = (
    "Individual Brokerage",
    "Joint Brokerage",
    "Roth IRA",
    "Traditional IRA",
    "Family Trust",
)
IRAS = ("Roth IRA", "Traditional IRA")
SEC_FEE_RATE = 0.0000278  # of the gross amount of a sale, at least one cent
SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "V", "KO")


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def money(value: float) -> float:
    return round(value + 1e-9, 2)


def cents(value: float) -> int:
    return round(value * 100)


def flip(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


def accounts(world: Any) -> list[dict[str, Any]]:
    return [call(world, "get_brokerage_account", account_type=name) for name in world.type_names()]


def next_weekday(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


# -- accounts and quotes --------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_accounts(seed):
    world = SCENARIO.world(seed)
    names = world.type_names()
    assert names[0] == "Individual Brokerage" and len(set(names)) == 3
    assert set(names) <= set(ACCOUNT_TYPES)
    found = accounts(world)
    assert len({account["account_id"] for account in found}) == 3
    for name, account in zip(names, found, strict=True):
        assert account["account_type"] == name
        assert re.fullmatch(r"ACCT-\d{8}", account["account_id"])
        assert account["cash_balance"] == account["buying_power"] > 0
        assert round(account["cash_balance"], 2) == account["cash_balance"]
        assert (account["status"], account["currency"]) == ("active", "USD")
        assert account["owner"] == found[0]["owner"]
        assert call(world, "get_brokerage_account", account_type=f"  {name.upper()} ") == account
        # a distinctive part of the name finds it too
        for word in name.split():
            holders = [other for other in names if word.casefold() in other.casefold()]
            if len(holders) == 1:
                assert call(world, "get_brokerage_account", account_type=word.lower()) == account
            else:
                with pytest.raises(ToolError, match="matches several accounts"):
                    call(world, "get_brokerage_account", account_type=word)
    absent = next(name for name in ACCOUNT_TYPES if name not in names)
    with pytest.raises(ToolError, match="matches no account; your accounts are"):
        call(world, "get_brokerage_account", account_type=absent)


@pytest.mark.parametrize("seed", SEEDS)
def test_quotes(seed):
    world = SCENARIO.world(seed)
    ids = set()
    for symbol in SYMBOLS:
        quote = call(world, "get_stock_quote", symbol=f" ${symbol.lower()} ")
        assert quote["symbol"] == symbol
        assert re.fullmatch(r"QT-[0-9A-Z]{8}", quote["quote_id"])
        ids.add(quote["quote_id"])
        assert quote["bid"] < quote["ask"]
        assert quote["bid"] <= quote["last"] <= quote["ask"]
        assert quote["ask"] - quote["bid"] <= quote["last"] * 0.0005 + 0.02  # a tight spread
        assert all(round(quote[key], 2) == quote[key] for key in ("bid", "ask", "last"))
        when = dt.datetime.fromisoformat(quote["quoted_at"])
        assert when.weekday() < 5
        assert dt.time(9, 30) <= when.time() <= dt.time(16, 0)  # market hours
        assert quote["currency"] == "USD"
        # quotes do not expire (the market stands still for the episode): no validity period
        assert not any(key.startswith("valid_for") for key in quote)
        assert call(world, "get_stock_quote", symbol=symbol) == quote
    assert len(ids) == len(SYMBOLS)
    with pytest.raises(ToolError, match="tradable symbols: AAPL"):
        call(world, "get_stock_quote", symbol="ZZZZ")


# -- positions ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_positions_are_valued_at_the_quoted_price(seed):
    world = SCENARIO.world(seed)
    for account in accounts(world):
        out = call(world, "get_portfolio_positions", account_id=account["account_id"].lower())
        assert (out["account_id"], out["account_type"]) == (
            account["account_id"],
            account["account_type"],
        )
        positions = out["positions"]
        assert 3 <= len(positions) <= 5
        assert len({position["symbol"] for position in positions}) == len(positions)
        values = [position["market_value"] for position in positions]
        assert values == sorted(values, reverse=True)  # largest first
        for position in positions:
            quote = call(world, "get_stock_quote", symbol=position["symbol"])
            assert position["company"] == quote["company"]
            assert position["last_price"] == quote["last"]
            assert position["quantity"] > 0
            assert position["market_value"] == money(position["quantity"] * quote["last"])
            cost = position["quantity"] * position["avg_cost"]
            assert position["unrealized_pl"] == money(position["market_value"] - cost)
        assert out["positions_value"] == money(math.fsum(values))
        assert out["cash_balance"] == account["cash_balance"]
        assert out["total_value"] == money(out["positions_value"] + out["cash_balance"])


def test_positions_of_an_unknown_account():
    with pytest.raises(ToolError, match="get_brokerage_account"):
        call(SCENARIO.world(0), "get_portfolio_positions", account_id="ACCT-00000000")


# -- orders ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_buying_fills_at_the_ask(seed):
    for account in accounts(SCENARIO.world(seed)):
        for symbol in SYMBOLS[:4]:
            world = SCENARIO.world(seed)  # each buy on a fresh world: it spends the cash
            quote = call(world, "get_stock_quote", symbol=symbol)
            quantity = 1 + int(account["cash_balance"] // quote["ask"]) // 3
            order = call(
                world,
                "place_stock_order",
                account_id=account["account_id"],
                quote_id=quote["quote_id"].lower(),
                side=" BUY ",
                quantity=quantity,
            )
            assert re.fullmatch(r"TRD-[0-9A-Z]{9}", order["order_id"])
            assert (order["status"], order["side"], order["symbol"]) == ("accepted", "buy", symbol)
            assert (order["account_id"], order["quantity"]) == (account["account_id"], quantity)
            assert order["quote_price"] == quote["ask"]
            assert order["estimated_total"] == money(quote["ask"] * quantity)
            status = call(world, "get_stock_order_status", order_id=order["order_id"].lower())
            assert status["order_id"] == order["order_id"]
            assert (status["status"], status["side"], status["symbol"]) == ("filled", "buy", symbol)
            assert status["quantity"] == status["filled_quantity"] == quantity
            assert status["account_id"] == account["account_id"]
            # price improvement of at most two cents, never a worse price
            assert quote["ask"] - 0.02 - 1e-9 <= status["avg_fill_price"] <= quote["ask"]
            assert status["gross_amount"] == money(status["avg_fill_price"] * quantity)
            assert status["fees"] == 0.0
            assert status["net_amount"] == status["gross_amount"]
            quoted = dt.datetime.fromisoformat(quote["quoted_at"])
            filled = dt.datetime.fromisoformat(status["filled_at"])
            assert dt.timedelta(seconds=1) <= filled - quoted <= dt.timedelta(seconds=9)
            assert status["settlement_date"] == next_weekday(quoted.date()).isoformat()
            # the buy was paid from the cash
            after = call(world, "get_brokerage_account", account_type=account["account_type"])
            assert cents(after["cash_balance"]) == cents(account["cash_balance"]) - cents(
                status["net_amount"]
            )


@pytest.mark.parametrize("seed", SEEDS)
def test_selling_fills_at_the_bid_and_pays_the_sec_fee(seed):
    for account in accounts(SCENARIO.world(seed)):
        positions = call(
            SCENARIO.world(seed), "get_portfolio_positions", account_id=account["account_id"]
        )
        for position in positions["positions"]:
            for quantity in (1, position["quantity"]):
                world = SCENARIO.world(seed)  # each sale on a fresh world: it sells the shares
                quote = call(world, "get_stock_quote", symbol=position["symbol"])
                order = call(
                    world,
                    "place_stock_order",
                    account_id=account["account_id"],
                    quote_id=quote["quote_id"],
                    side="sell",
                    quantity=quantity,
                )
                assert order["quote_price"] == quote["bid"]
                assert order["estimated_total"] == money(quote["bid"] * quantity)
                status = call(world, "get_stock_order_status", order_id=order["order_id"])
                assert (status["side"], status["quantity"]) == ("sell", quantity)
                assert quote["bid"] <= status["avg_fill_price"] <= quote["bid"] + 0.02 + 1e-9
                gross = money(status["avg_fill_price"] * quantity)
                fee = max(0.01, money(gross * SEC_FEE_RATE))
                assert (status["gross_amount"], status["fees"]) == (gross, fee)
                assert status["net_amount"] == money(gross - fee)
                # the shares left the account and the proceeds (less the fee) came in
                after = call(world, "get_portfolio_positions", account_id=account["account_id"])
                assert cents(after["cash_balance"]) == cents(positions["cash_balance"]) + cents(
                    gross - fee
                )
                left = {p["symbol"]: p["quantity"] for p in after["positions"]}
                assert left.get(position["symbol"], 0) == position["quantity"] - quantity
            world = SCENARIO.world(seed)
            quote = call(world, "get_stock_quote", symbol=position["symbol"])
            with pytest.raises(ToolError, match=f"the account holds {position['quantity']}"):
                call(
                    world,
                    "place_stock_order",
                    account_id=account["account_id"],
                    quote_id=quote["quote_id"],
                    side="sell",
                    quantity=position["quantity"] + 1,
                )


def test_sec_fee_by_hand():
    # the fee of a sale is 0.00278% of its gross amount, and at least one cent
    world = SCENARIO.world(0)
    account = accounts(world)[0]
    position = call(world, "get_portfolio_positions", account_id=account["account_id"])[
        "positions"
    ][0]
    quote = call(world, "get_stock_quote", symbol=position["symbol"])
    tiny = call(
        world,
        "place_stock_order",
        account_id=account["account_id"],
        quote_id=quote["quote_id"],
        side="sell",
        quantity=1,
    )
    assert call(world, "get_stock_order_status", order_id=tiny["order_id"])["fees"] == 0.01
    order = call(
        world,
        "place_stock_order",
        account_id=account["account_id"],
        quote_id=quote["quote_id"],
        side="sell",
        quantity=position["quantity"] - 1,  # the rest of the position
    )
    status = call(world, "get_stock_order_status", order_id=order["order_id"])
    assert abs(status["fees"] - status["gross_amount"] * 0.0000278) <= 0.005


def test_buying_power_is_the_limit():
    world = SCENARIO.world(1)
    account = accounts(world)[0]
    quote = call(world, "get_stock_quote", symbol="MSFT")
    affordable = int(account["cash_balance"] // quote["ask"])
    if money(quote["ask"] * affordable) > account["cash_balance"]:  # rounding at the edge
        affordable -= 1
    before = world.state.snapshot()
    with pytest.raises(ToolError, match="insufficient buying power"):
        call(
            world,
            "place_stock_order",
            account_id=account["account_id"],
            quote_id=quote["quote_id"],
            side="buy",
            quantity=affordable + 1,
        )
    assert world.state.snapshot() == before  # a refused order changes nothing
    order = call(
        world,
        "place_stock_order",
        account_id=account["account_id"],
        quote_id=quote["quote_id"],
        side="buy",
        quantity=affordable,
    )
    assert order["estimated_total"] <= account["cash_balance"]
    # the limit is now the cash the buy left
    net = call(world, "get_stock_order_status", order_id=order["order_id"])["net_amount"]
    left = cents(account["cash_balance"]) - cents(net)
    assert cents(accounts(world)[0]["cash_balance"]) == left
    more = left // cents(quote["ask"]) + 1
    with pytest.raises(ToolError, match=f"the account has {left / 100}"):
        call(
            world,
            "place_stock_order",
            account_id=account["account_id"],
            quote_id=quote["quote_id"],
            side="buy",
            quantity=more,
        )


def test_settlement_skips_the_weekend():
    fridays = 0
    for seed in range(60):
        world = SCENARIO.world(seed)
        quote = call(world, "get_stock_quote", symbol="KO")
        day = dt.date.fromisoformat(quote["quoted_at"][:10])
        if day.weekday() != 4:
            continue
        fridays += 1
        account = accounts(world)[0]
        order = call(
            world,
            "place_stock_order",
            account_id=account["account_id"],
            quote_id=quote["quote_id"],
            side="buy",
            quantity=1,
        )
        status = call(world, "get_stock_order_status", order_id=order["order_id"])
        assert status["settlement_date"] == (day + dt.timedelta(days=3)).isoformat()  # Monday
    assert fridays > 0


def test_order_bad_calls():
    world = SCENARIO.world(0)
    account = accounts(world)[0]["account_id"]
    quote = call(world, "get_stock_quote", symbol="AAPL")["quote_id"]
    held = {
        p["symbol"] for p in call(world, "get_portfolio_positions", account_id=account)["positions"]
    }
    unheld = next(symbol for symbol in SYMBOLS if symbol not in held)
    unheld_quote = call(world, "get_stock_quote", symbol=unheld)["quote_id"]
    cases = [
        ({"quote_id": quote, "side": "short", "quantity": 1}, "side must be 'buy' or 'sell'"),
        ({"quote_id": quote, "side": "buy", "quantity": 0}, "between 1 and 100000"),
        ({"quote_id": unheld_quote, "side": "sell", "quantity": 1}, "holds 0"),
        ({"quote_id": flip(quote), "side": "buy", "quantity": 1}, "unknown quote_id"),
        ({"quote_id": "QT-1", "side": "buy", "quantity": 1}, "malformed quote_id"),
    ]
    for arguments, message in cases:
        with pytest.raises(ToolError, match=message):
            call(world, "place_stock_order", account_id=account, **arguments)
    with pytest.raises(ToolError, match="unknown account_id"):
        call(
            world, "place_stock_order", account_id="ACCT-1", quote_id=quote, side="buy", quantity=1
        )
    order = call(
        world, "place_stock_order", account_id=account, quote_id=quote, side="buy", quantity=1
    )
    with pytest.raises(ToolError, match="no order"):
        call(world, "get_stock_order_status", order_id=flip(order["order_id"]))
    with pytest.raises(ToolError, match="malformed order_id"):
        call(world, "get_stock_order_status", order_id="TRD-12")
    # a well-signed id names an order only where it was placed: a fresh world of the same
    # seed (nothing placed yet) does not know it
    with pytest.raises(ToolError, match="no order"):
        call(SCENARIO.world(0), "get_stock_order_status", order_id=order["order_id"])


# -- transfers ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_transfers_follow_the_ira_rules(seed):
    found = accounts(SCENARIO.world(seed))
    quoted_at = call(SCENARIO.world(seed), "get_stock_quote", symbol="KO")["quoted_at"]
    for source in found:
        for target in found:
            if source is target:
                continue
            world = SCENARIO.world(seed)  # each pair on a fresh world: a transfer moves cash
            arguments = {
                "from_account_id": source["account_id"].lower(),
                "to_account_id": target["account_id"],
            }
            if source["account_type"] in IRAS:
                with pytest.raises(ToolError, match="cannot be transferred out"):
                    call(world, "transfer_brokerage_cash", amount=10.0, **arguments)
                continue
            limit = source["cash_balance"]
            if target["account_type"] in IRAS:
                limit = min(limit, 7000.0)
                if source["cash_balance"] > 7000.01:
                    with pytest.raises(ToolError, match="at most 7000"):
                        call(world, "transfer_brokerage_cash", amount=7000.01, **arguments)
            with pytest.raises(ToolError, match="insufficient cash"):
                call(
                    world,
                    "transfer_brokerage_cash",
                    amount=money(source["cash_balance"] + 0.01),
                    **arguments,
                )
            assert len(world.state) == 0  # the refused transfers changed nothing
            out = call(world, "transfer_brokerage_cash", amount=limit, **arguments)
            assert (out["from_account_id"], out["to_account_id"]) == (
                source["account_id"],
                target["account_id"],
            )
            assert (out["amount"], out["status"], out["currency"]) == (limit, "completed", "USD")
            assert out["completed_at"] == quoted_at
            assert re.fullmatch(r"TRF-[0-9A-F]{6}", out["transfer_id"])
            # both balances changed, as every read of them shows
            now = {a["account_id"]: a["cash_balance"] for a in accounts(world)}
            assert cents(now[source["account_id"]]) == cents(source["cash_balance"]) - cents(limit)
            assert cents(now[target["account_id"]]) == cents(target["cash_balance"]) + cents(limit)
            positions = call(world, "get_portfolio_positions", account_id=target["account_id"])
            assert positions["cash_balance"] == now[target["account_id"]]
            # the same transfer again is checked against the cash left, and is a second one
            left = now[source["account_id"]]
            if left >= limit:
                again = call(world, "transfer_brokerage_cash", amount=limit, **arguments)
                assert again["transfer_id"] != out["transfer_id"]
            else:
                before = world.state.snapshot()
                with pytest.raises(ToolError, match=f"has {left}"):
                    call(world, "transfer_brokerage_cash", amount=limit, **arguments)
                assert world.state.snapshot() == before


@pytest.mark.parametrize("amount", [0.0, -5.0, 1.234, math.inf])
def test_transfer_amount_must_be_dollars_and_cents(amount):
    world = SCENARIO.world(0)
    found = accounts(world)
    with pytest.raises(ToolError, match="positive number of dollars and cents"):
        call(
            world,
            "transfer_brokerage_cash",
            from_account_id=found[0]["account_id"],
            to_account_id=found[1]["account_id"],
            amount=amount,
        )


def test_transfer_to_itself():
    world = SCENARIO.world(0)
    account = accounts(world)[0]["account_id"]
    with pytest.raises(ToolError, match="must be different accounts"):
        call(
            world,
            "transfer_brokerage_cash",
            from_account_id=account,
            to_account_id=account.lower(),
            amount=5.0,
        )


# -- the state: writes seen by reads, repeats, refusals, v2 ids -------------------------------


def stable(prefix: str, *parts: Any) -> str:
    """A v2 hash id, recomputed here: blake2b of the JSON parts, six hex digits."""
    digest = hashlib.blake2b(json.dumps(parts, sort_keys=True).encode(), digest_size=8)
    return f"{prefix}-{digest.hexdigest()[:6].upper()}"


def test_the_first_objects_keep_their_v2_ids_and_a_repeat_gets_a_new_one():
    # dataset v2, fund_and_buy on world 708428058: $10,800.00 from the Individual Brokerage
    # account to the Family Trust account, then 97 PEP bought there
    seed = 708428058
    world = SCENARIO.world(seed)
    source = call(world, "get_brokerage_account", account_type="Individual Brokerage")
    target = call(world, "get_brokerage_account", account_type="Family Trust")
    assert (source["account_id"], target["account_id"]) == ("ACCT-69584106", "ACCT-79211029")
    moved = call(
        world,
        "transfer_brokerage_cash",
        from_account_id=source["account_id"],
        to_account_id=target["account_id"],
        amount=10800,
    )
    indexes = [world.type_names().index(name) for name in ("Individual Brokerage", "Family Trust")]
    assert moved["transfer_id"] == "TRF-EA924D" == stable("TRF", world.seed, *indexes, 1_080_000)
    quote = call(world, "get_stock_quote", symbol="PEP")
    assert quote["quote_id"] == "QT-E98XWCYD"
    order = call(
        world,
        "place_stock_order",
        account_id=target["account_id"],
        quote_id=quote["quote_id"],
        side="buy",
        quantity=97,
    )
    assert order["order_id"] == "TRD-KRSWHZ89G"
    # the same transfer again: a second transfer, numbered 1 in its id's hash
    again = call(
        world,
        "transfer_brokerage_cash",
        from_account_id=source["account_id"],
        to_account_id=target["account_id"],
        amount=10800.0,
    )
    assert again["transfer_id"] == stable("TRF", world.seed, *indexes, 1_080_000, 1)
    assert call(world, "get_brokerage_account", account_type="Family Trust")["cash_balance"] == (
        money(target["cash_balance"] + 2 * 10800 - order_net(world, order["order_id"]))
    )


def order_net(world: Any, order_id: str) -> float:
    return call(world, "get_stock_order_status", order_id=order_id)["net_amount"]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_buy_adds_shares_at_a_new_average_cost(seed):
    world = SCENARIO.world(seed)
    account = accounts(world)[0]
    before = call(world, "get_portfolio_positions", account_id=account["account_id"])
    held = before["positions"][-1]  # the smallest holding
    unheld = next(
        symbol
        for symbol in SYMBOLS
        if symbol not in {position["symbol"] for position in before["positions"]}
    )
    fills = {}
    for symbol, quantity in ((held["symbol"], 3), (unheld, 2)):
        quote = call(world, "get_stock_quote", symbol=symbol)
        order = call(
            world,
            "place_stock_order",
            account_id=account["account_id"],
            quote_id=quote["quote_id"],
            side="buy",
            quantity=quantity,
        )
        fills[symbol] = call(world, "get_stock_order_status", order_id=order["order_id"])
    after = call(world, "get_portfolio_positions", account_id=account["account_id"])
    positions = {position["symbol"]: position for position in after["positions"]}
    assert len(positions) == len(before["positions"]) + 1
    # the held symbol: 3 more shares, the average cost weighted by shares
    grown = positions[held["symbol"]]
    assert grown["quantity"] == held["quantity"] + 3
    weighted = held["quantity"] * held["avg_cost"] + 3 * fills[held["symbol"]]["avg_fill_price"]
    assert grown["avg_cost"] == money(weighted / (held["quantity"] + 3))
    assert grown["market_value"] == money(grown["quantity"] * grown["last_price"])
    # the new symbol: 2 shares at the fill price
    new = positions[unheld]
    assert (new["quantity"], new["avg_cost"]) == (2, fills[unheld]["avg_fill_price"])
    values = [position["market_value"] for position in after["positions"]]
    assert values == sorted(values, reverse=True)
    spent = sum(cents(status["net_amount"]) for status in fills.values())
    assert cents(after["cash_balance"]) == cents(before["cash_balance"]) - spent
    assert after["total_value"] == money(after["positions_value"] + after["cash_balance"])


@pytest.mark.parametrize("seed", SEEDS)
def test_selling_a_whole_position_removes_it(seed):
    world = SCENARIO.world(seed)
    account = accounts(world)[1]
    largest = call(world, "get_portfolio_positions", account_id=account["account_id"])["positions"][
        0
    ]
    quote = call(world, "get_stock_quote", symbol=largest["symbol"])
    arguments = {
        "account_id": account["account_id"],
        "quote_id": quote["quote_id"],
        "side": "sell",
        "quantity": largest["quantity"],
    }
    call(world, "place_stock_order", **arguments)
    after = call(world, "get_portfolio_positions", account_id=account["account_id"])
    assert largest["symbol"] not in {position["symbol"] for position in after["positions"]}
    before = world.state.snapshot()
    with pytest.raises(ToolError, match="the account holds 0"):
        call(world, "place_stock_order", **arguments)  # nothing left to sell
    assert world.state.snapshot() == before
    # buying it back starts a new cost basis: the fill price
    bought = call(world, "place_stock_order", **{**arguments, "side": "buy", "quantity": 5})
    fill = call(world, "get_stock_order_status", order_id=bought["order_id"])["avg_fill_price"]
    again = call(world, "get_portfolio_positions", account_id=account["account_id"])
    position = next(p for p in again["positions"] if p["symbol"] == largest["symbol"])
    assert (position["quantity"], position["avg_cost"]) == (5, fill)


def test_a_repeated_order_is_a_second_order():
    world = SCENARIO.world(2)
    account = accounts(world)[2]
    quote = call(world, "get_stock_quote", symbol="KO")
    arguments = {
        "account_id": account["account_id"],
        "quote_id": quote["quote_id"],
        "side": "buy",
        "quantity": 4,
    }
    first = call(world, "place_stock_order", **arguments)
    second = call(world, "place_stock_order", **arguments)
    third = call(
        world, "place_stock_order", **{**arguments, "account_id": arguments["account_id"].lower()}
    )
    ids = [first["order_id"], second["order_id"], third["order_id"]]
    assert len(set(ids)) == 3
    assert re.fullmatch(r"TRD-[0-9A-Z]{9}", ids[0])
    assert all(re.fullmatch(r"TRD-[0-9A-Z]{11}", order_id) for order_id in ids[1:])
    statuses = [call(world, "get_stock_order_status", order_id=order_id) for order_id in ids]
    assert [status["quantity"] for status in statuses] == [4, 4, 4]
    spent = sum(cents(status["net_amount"]) for status in statuses)
    after = call(world, "get_brokerage_account", account_type=account["account_type"])
    assert cents(after["cash_balance"]) == cents(account["cash_balance"]) - spent
    keys = world.state.keys()
    orders = [key for key in keys if key[0] == "order"]
    assert sorted(orders) == sorted(("order", order_id) for order_id in ids)


def test_reads_change_nothing():
    world = SCENARIO.world(3)
    for account in accounts(world):
        call(world, "get_portfolio_positions", account_id=account["account_id"])
    call(world, "get_stock_quote", symbol="AAPL")
    assert len(world.state) == 0


def test_tasks_on_different_accounts_touch_different_objects():
    world = SCENARIO.world(4)
    first, second = accounts(world)[:2]
    quote = call(world, "get_stock_quote", symbol="KO")
    for account in (first, second):
        call(
            world,
            "place_stock_order",
            account_id=account["account_id"],
            quote_id=quote["quote_id"],
            side="buy",
            quantity=1,
        )
    keys = world.state.keys()
    owners = {key[1] for key in keys if key[0] in ("cash", "position")}
    assert owners == {first["account_id"], second["account_id"]}
    assert all(len(key) == 2 for key in keys if key[0] == "cash")


@pytest.mark.parametrize("seed", range(6))
def test_fund_and_buy_buys_after_the_transfer(seed):
    task = build_task(
        SCENARIO, "fund_and_buy", seed, np.random.default_rng(seed), world=SCENARIO.world(seed)
    )
    tools = [step.tool for step in task.steps]
    transfer, buy = tools.index("transfer_brokerage_cash"), tools.index("place_stock_order")
    assert transfer in task.steps[buy].depends_on
    assert ", then buy" in task.instruction


def test_no_template_converts_an_amount_into_its_own_currency():
    # the trading tools have no currency conversion, and every amount is in USD
    assert not any("convert" in tool.name for tool in SCENARIO.tools)
    for seed in range(4):
        for name in SCENARIO.templates:
            task = build_task(
                SCENARIO, name, seed, np.random.default_rng(seed), world=SCENARIO.world(seed)
            )
            assert "convert" not in task.instruction.lower()
