"""Backend tests of the trading scenario, with values computed independently.

Prices and holdings come from a hash of the world's seed, so these tests check the
arithmetic and relations the tools promise: a position's value is its quantity times the
quoted last price, totals are sums of the listed items, positions are largest first, buys
fill at (or a little under) the ask and sells at (or a little over) the bid, the SEC fee is
0.00278% of a sale, settlement is the next weekday, and transfers obey the IRA rules.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pytest

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
        assert (quote["currency"], quote["valid_for_seconds"]) == ("USD", 30)
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
    world = SCENARIO.world(seed)
    for account in accounts(world):
        for symbol in SYMBOLS[:4]:
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
            again = call(
                world,
                "place_stock_order",
                account_id=account["account_id"],
                quote_id=quote["quote_id"],
                side="buy",
                quantity=quantity,
            )
            assert again == order


@pytest.mark.parametrize("seed", SEEDS)
def test_selling_fills_at_the_bid_and_pays_the_sec_fee(seed):
    world = SCENARIO.world(seed)
    for account in accounts(world):
        positions = call(world, "get_portfolio_positions", account_id=account["account_id"])
        for position in positions["positions"]:
            quote = call(world, "get_stock_quote", symbol=position["symbol"])
            for quantity in (1, position["quantity"]):
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
    order = call(
        world,
        "place_stock_order",
        account_id=account["account_id"],
        quote_id=quote["quote_id"],
        side="sell",
        quantity=position["quantity"],
    )
    status = call(world, "get_stock_order_status", order_id=order["order_id"])
    assert abs(status["fees"] - status["gross_amount"] * 0.0000278) <= 0.005
    tiny = call(
        world,
        "place_stock_order",
        account_id=account["account_id"],
        quote_id=quote["quote_id"],
        side="sell",
        quantity=1,
    )
    assert call(world, "get_stock_order_status", order_id=tiny["order_id"])["fees"] == 0.01


def test_buying_power_is_the_limit():
    world = SCENARIO.world(1)
    account = accounts(world)[0]
    quote = call(world, "get_stock_quote", symbol="MSFT")
    affordable = int(account["cash_balance"] // quote["ask"])
    if money(quote["ask"] * affordable) > account["cash_balance"]:  # rounding at the edge
        affordable -= 1
    order = call(
        world,
        "place_stock_order",
        account_id=account["account_id"],
        quote_id=quote["quote_id"],
        side="buy",
        quantity=affordable,
    )
    assert order["estimated_total"] <= account["cash_balance"]
    with pytest.raises(ToolError, match="insufficient buying power"):
        call(
            world,
            "place_stock_order",
            account_id=account["account_id"],
            quote_id=quote["quote_id"],
            side="buy",
            quantity=affordable + 1,
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
        ({"quote_id": flip(quote), "side": "buy", "quantity": 1}, "unknown or expired quote_id"),
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


# -- transfers ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_transfers_follow_the_ira_rules(seed):
    world = SCENARIO.world(seed)
    found = accounts(world)
    quoted_at = call(world, "get_stock_quote", symbol="KO")["quoted_at"]
    for source in found:
        for target in found:
            if source is target:
                continue
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
            out = call(world, "transfer_brokerage_cash", amount=limit, **arguments)
            assert (out["from_account_id"], out["to_account_id"]) == (
                source["account_id"],
                target["account_id"],
            )
            assert (out["amount"], out["status"], out["currency"]) == (limit, "completed", "USD")
            assert out["completed_at"] == quoted_at
            assert re.fullmatch(r"TRF-[0-9A-F]{6}", out["transfer_id"])
            assert call(world, "transfer_brokerage_cash", amount=limit, **arguments) == out
            other = call(world, "transfer_brokerage_cash", amount=12.34, **arguments)
            assert other["transfer_id"] != out["transfer_id"]
            assert other["amount"] == 12.34


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
