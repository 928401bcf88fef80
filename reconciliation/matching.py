"""Matching bank lines to receivables (pure, table-tested): candidates ranked by reference, then party, then
amount (as ERPNext's bank reconciliation does), allocations never above a line's amount, and every decision with
its explanation.

Rules, strongest first:

* the 附言 carries a receivable's **payment code** — equal amount: matched (100); less: that receivable, an amount
  mismatch; more: that receivable, the rest to the lease's other open receivables oldest first, any surplus is
  credit (an overpayment); the receivable is already paid: a duplicate payment (the money is credit);
* the 附言 names a **contract number** — equal to one open receivable of the lease, or to the sum of those due:
  matched (95); else oldest first with the mismatch stated;
* a payment already **recorded by hand** for that lease or tenant with the same amount within a week: the line
  confirms it (no second payment);
* the **payer** is the tenant or a registered payer alias (rapidfuzz, normalised names) and the amount equals
  one of their open receivables (92 × name score) or the sum of those due (90 × name score); a payer matching
  nothing exactly: oldest first across their leases, proposed (60);
* **amount only**, when exactly one open receivable in the whole portfolio has it: proposed (40), never applied;
* nothing: unmatched income.

A decision at or above the confidence threshold is applied automatically; below it, it waits for a person.
The index (by code, contract, amount, tenant and name bigrams) makes each line cost about the same however many
receivables are open, so a statement's cost grows linearly."""

from __future__ import annotations

import heapq
import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from rapidfuzz import fuzz

from leasing.payment_codes import codes_in, payment_code
from reconciliation.choices import DiscrepancyKind, MatchRule

DUE_HORIZON_DAYS = 7  # "what is due": receivables due up to a week after the line (the ledger's notice period)
RECORDED_WINDOW_DAYS = 7  # a hand-recorded payment this close in time with the same amount is the same money
COMMON_BIGRAM_POSTINGS = 300  # bigrams shared by more names than this (有限, 公司 …) do not narrow anything
FUZZY_CANDIDATES = 25

CONF_CODE = 100
CONF_CONTRACT = 95
CONF_RECORDED = 95
CONF_PAYER_AMOUNT = 92
CONF_PAYER_SUM = 90
CONF_REFERENCE_MISMATCH = 80
CONF_CONTRACT_MISMATCH = 75
CONF_DUPLICATE = 60
CONF_PAYER_PARTIAL = 60
CONF_AMBIGUOUS = 55
CONF_AMOUNT_ONLY = 40


@dataclass(frozen=True)
class OpenReceivable:
    id: int
    lease_id: int
    tenant_id: int
    building_id: int
    contract_no: str
    due_date: date
    outstanding_fen: int
    label: str = ""
    priority: int = 1  # deposit 0, rent 1, other charges 2 (the ledger's order on the same due date)


@dataclass(frozen=True)
class PaidReceivable:
    """A receivable no longer open, named by a code or paid recently by a tenant (duplicate detection)."""

    id: int
    lease_id: int
    tenant_id: int
    building_id: int
    amount_fen: int
    label: str = ""


@dataclass(frozen=True)
class RecordedPayment:
    """A payment recorded by hand (not from a statement) that no line confirms yet."""

    id: int
    lease_id: int
    tenant_id: int
    building_id: int
    amount_fen: int
    paid_on: date


@dataclass(frozen=True)
class Party:
    tenant_id: int
    name: str
    aliases: tuple[str, ...] = ()
    #: the tenant's live leases (lease id, building id), newest first: where credit goes
    leases: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class BankLine:
    id: int
    amount_fen: int
    booked_on: date
    counterparty_name: str = ""
    reference: str = ""


@dataclass(frozen=True)
class Allocation:
    lease_id: int
    building_id: int
    amount_fen: int
    receivable_id: int | None  # None: credit on the lease


@dataclass(frozen=True)
class Finding:
    kind: DiscrepancyKind
    amount_fen: int
    expected_fen: int | None
    explanation: str
    receivable_id: int | None = None
    lease_id: int | None = None
    building_id: int | None = None


@dataclass(frozen=True)
class Decision:
    line_id: int
    rule: MatchRule | None
    confidence: int
    explanation: str
    allocations: tuple[Allocation, ...] = ()
    recorded_payment_id: int | None = None
    findings: tuple[Finding, ...] = ()
    candidates: tuple[dict, ...] = ()  # the ranked alternatives considered, for the explanation

    @property
    def allocated_fen(self) -> int:
        return sum(a.amount_fen for a in self.allocations)

    def applies(self, threshold: int) -> bool:
        return self.rule is not None and self.confidence >= threshold and self.rule != MatchRule.AMOUNT_ONLY

    def as_dict(self) -> dict:
        return {"rule": str(self.rule) if self.rule else None, "confidence": self.confidence,
                "explanation": self.explanation,
                "allocations": [{"lease_id": a.lease_id, "receivable_id": a.receivable_id, "amount_fen": a.amount_fen}
                                for a in self.allocations],
                "recorded_payment_id": self.recorded_payment_id,
                "findings": [{"kind": str(f.kind), "amount_fen": f.amount_fen, "expected_fen": f.expected_fen,
                              "explanation": f.explanation} for f in self.findings],
                "candidates": list(self.candidates)}


# --------------------------------------------------------------------------------------------- names

_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "公司")


def name_key(text: str) -> str:
    """A name as compared: NFKC, no spaces, punctuation or brackets' content, no company-form suffix."""
    text = unicodedata.normalize("NFKC", text or "").upper()
    text = re.sub(r"\([^)]*\)", "", text)
    text = re.sub(r"[\s\W_]+", "", text)
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)]
            break
    return text


def bigrams(key: str) -> set[str]:
    return {key[i:i + 2] for i in range(len(key) - 1)} or ({key} if key else set())


def fen(amount: int) -> str:
    return f"{amount // 100:,}.{amount % 100:02d}"


# --------------------------------------------------------------------------------------------- index


@dataclass
class Index:
    """Open receivables indexed by id, lease, tenant, contract number and amount; parties by name. ``left``
    is what each receivable still has open as lines are decided one after another."""

    receivables: dict[int, OpenReceivable] = field(default_factory=dict)
    left: dict[int, int] = field(default_factory=dict)
    by_lease: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_tenant: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_amount: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_contract: dict[str, int] = field(default_factory=dict)
    lease_building: dict[int, int] = field(default_factory=dict)
    lease_tenant: dict[int, int] = field(default_factory=dict)
    paid: dict[int, PaidReceivable] = field(default_factory=dict)
    recorded: dict[int, list[RecordedPayment]] = field(default_factory=lambda: defaultdict(list))  # by tenant
    used_recorded: set[int] = field(default_factory=set)
    parties: dict[int, Party] = field(default_factory=dict)
    names: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    grams: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    named: dict[tuple[str, int], list[tuple[int, int, str]]] = field(default_factory=dict)  # parties_named's answers
    name_keys: dict[int, str] = field(default_factory=dict)  # each party's name_key, once
    sorted_grams: dict[str, list[str]] = field(default_factory=dict)  # a bigram's names in order, once

    @classmethod
    def build(cls, receivables: Iterable[OpenReceivable], parties: Iterable[Party] = (),
              paid: Iterable[PaidReceivable] = (), recorded: Iterable[RecordedPayment] = (),
              contracts: dict[str, int] | None = None) -> Index:
        index = cls()
        for r in sorted(receivables, key=lambda r: (r.due_date, r.priority, r.id)):
            if r.outstanding_fen <= 0:
                continue
            index.receivables[r.id] = r
            index.left[r.id] = r.outstanding_fen
            index.by_lease[r.lease_id].append(r.id)
            index.by_tenant[r.tenant_id].append(r.id)
            index.by_amount[r.outstanding_fen].append(r.id)
            index.lease_building[r.lease_id] = r.building_id
            index.lease_tenant[r.lease_id] = r.tenant_id
            if r.contract_no:
                index.by_contract[contract_key(r.contract_no)] = r.lease_id
        for number, lease_id in (contracts or {}).items():
            index.by_contract.setdefault(contract_key(number), lease_id)
        for p in paid:
            index.paid[p.id] = p
            index.lease_building.setdefault(p.lease_id, p.building_id)
            index.lease_tenant.setdefault(p.lease_id, p.tenant_id)
        for payment in recorded:
            index.recorded[payment.tenant_id].append(payment)
        for party in parties:
            index.parties[party.tenant_id] = party
            for lease_id, building_id in party.leases:
                index.lease_building.setdefault(lease_id, building_id)
                index.lease_tenant.setdefault(lease_id, party.tenant_id)
            for name in (party.name, *party.aliases):
                key = name_key(name)
                if not key:
                    continue
                index.names[key].add(party.tenant_id)
                for gram in bigrams(key):
                    index.grams[gram].add(key)
        return index

    # ---- lookups

    def open_of_lease(self, lease_id: int) -> list[int]:
        return [rid for rid in self.by_lease.get(lease_id, ()) if self.left[rid] > 0]

    def open_of_tenant(self, tenant_id: int) -> list[int]:
        return [rid for rid in self.by_tenant.get(tenant_id, ()) if self.left[rid] > 0]

    def due_by(self, ids: list[int], day: date) -> list[int]:
        horizon = day + timedelta(days=DUE_HORIZON_DAYS)
        return [rid for rid in ids if self.receivables[rid].due_date <= horizon]

    def parties_named(self, payer: str, min_score: int) -> list[tuple[int, int, str]]:
        """(tenant id, score 0–100, the name it matched) for the payer, best first. Exact normalised names and
        registered aliases score 100; others are scored by rapidfuzz among names sharing a bigram."""
        key = name_key(payer)
        if not key:
            return []
        cached = self.named.get((key, min_score))
        if cached is not None:  # names do not change while lines are decided: the same payer, the same answer
            return cached
        out: dict[int, tuple[int, str]] = {t: (100, key) for t in self.names.get(key, ())}
        for other in self.fuzzy_candidates(key):
            if other == key:
                continue
            score = round(fuzz.ratio(key, other))
            if score >= min_score:
                for tenant_id in self.names[other]:
                    if out.get(tenant_id, (0, ""))[0] < score:
                        out[tenant_id] = (score, other)
        named = sorted(((t, s, n) for t, (s, n) in out.items()), key=lambda x: (-x[1], x[0]))
        self.named[(key, min_score)] = named
        return named

    def fuzzy_candidates(self, key: str) -> list[str]:
        """The FUZZY_CANDIDATES names sharing the most bigrams with ``key``, most shared first and by name among
        equals (as sorting every name by (-shared, name) would); bigrams in more than COMMON_BIGRAM_POSTINGS
        names are skipped. Without touching every name: those sharing two or more bigrams come from the postings'
        pairwise intersections, the rest (sharing one) by merging the postings in name order until enough."""
        grams = [gram for gram in bigrams(key) if 0 < len(self.grams.get(gram, ())) <= COMMON_BIGRAM_POSTINGS]
        posts = [self.grams[gram] for gram in grams]
        multi: set[str] = set()
        for first, second in itertools.combinations(posts, 2):
            multi |= first & second
        ranked = sorted((-sum(name in post for post in posts), name) for name in multi)
        chosen = [name for _, name in ranked[:FUZZY_CANDIDATES]]
        if len(chosen) < FUZZY_CANDIDATES:
            for name in heapq.merge(*(self._sorted_postings(gram) for gram in grams)):
                if name not in multi:
                    chosen.append(name)
                    if len(chosen) == FUZZY_CANDIDATES:
                        break
        return chosen

    def _sorted_postings(self, gram: str) -> list[str]:
        names = self.sorted_grams.get(gram)
        if names is None:
            names = self.sorted_grams[gram] = sorted(self.grams[gram])
        return names

    def party_key(self, party: Party) -> str:
        key = self.name_keys.get(party.tenant_id)
        if key is None:
            key = self.name_keys[party.tenant_id] = name_key(party.name)
        return key

    def take(self, allocations: Iterable[Allocation]) -> None:
        for a in allocations:
            if a.receivable_id is not None:
                self.left[a.receivable_id] -= a.amount_fen

    def describe(self, rid: int) -> str:
        r = self.receivables.get(rid)
        if r is None:
            p = self.paid[rid]
            return f"receivable {rid} ({p.label or 'paid'}, {payment_code(rid)})"
        return f"receivable {rid} ({r.contract_no or 'lease ' + str(r.lease_id)} {r.label} due {r.due_date}, " \
               f"{payment_code(rid)})"


def contract_key(text: str) -> str:
    return re.sub(r"[\s\-_/]", "", unicodedata.normalize("NFKC", text or "").upper())


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/]{3,39}")


def contracts_in(text: str, index: Index) -> list[int]:
    """Leases whose contract number appears in the text (as a token, or inside a longer run of digits)."""
    found: list[int] = []
    for token in _TOKEN.findall(unicodedata.normalize("NFKC", text or "")):
        key = contract_key(token)
        lease_id = index.by_contract.get(key)
        if lease_id is not None and lease_id not in found:
            found.append(lease_id)
    return found


# --------------------------------------------------------------------------------------------- allocation


def oldest_first(index: Index, ids: list[int], amount: int, head: int | None = None) -> tuple[list[Allocation], int]:
    """Spread ``amount`` over open receivables (``head`` first, then oldest first), never beyond what each has
    open nor beyond the amount. Returns the allocations and what is left."""
    order = ([head] if head is not None else []) + [rid for rid in ids if rid != head]
    out, left = [], amount
    for rid in order:
        if left <= 0:
            break
        take = min(left, index.left.get(rid, 0))
        if take > 0:
            r = index.receivables[rid]
            out.append(Allocation(r.lease_id, r.building_id, take, rid))
            left -= take
    return out, left


def credit(index: Index, lease_id: int, amount: int) -> Allocation:
    return Allocation(lease_id, index.lease_building[lease_id], amount, None)


def _spread(index: Index, line: BankLine, lease_ids: list[int], head: int | None) -> tuple[list[Allocation], int]:
    """Oldest first over the leases' open receivables; the surplus becomes credit on the first lease."""
    ids = sorted({rid for lease in lease_ids for rid in index.open_of_lease(lease)},
                 key=lambda rid: (index.receivables[rid].due_date, index.receivables[rid].priority, rid))
    allocations, left = oldest_first(index, ids, line.amount_fen, head)
    if left > 0 and lease_ids:
        allocations.append(credit(index, lease_ids[0], left))
    return allocations, left


def _excess(line: BankLine, due_fen: int, context: str, receivable_id: int | None, lease_id: int,
            building_id: int) -> Finding:
    """More than is due: an overpayment (the surplus goes to later receivables, else credit); less: a mismatch."""
    if line.amount_fen > due_fen:
        surplus = line.amount_fen - due_fen
        return Finding(DiscrepancyKind.OVERPAYMENT, surplus, due_fen,
                       f"{fen(line.amount_fen)} paid {context} where {fen(due_fen)} is due: {fen(surplus)} more, "
                       "applied to later receivables or kept as credit", receivable_id, lease_id, building_id)
    return Finding(DiscrepancyKind.AMOUNT_MISMATCH, line.amount_fen, due_fen,
                   f"{fen(line.amount_fen)} paid {context} where {fen(due_fen)} is due", receivable_id, lease_id,
                   building_id)


# --------------------------------------------------------------------------------------------- deciding


@dataclass
class Matcher:
    index: Index
    min_name_score: int = 85

    def decide(self, line: BankLine) -> Decision:
        """Decide one income line and reserve what it takes (so the next line sees what is left)."""
        decision = (self._by_code(line) or self._by_contract(line) or self._by_party(line)
                    or self._by_amount(line) or self._unmatched(line))
        self.index.take(decision.allocations)
        if decision.recorded_payment_id is not None:
            self.index.used_recorded.add(decision.recorded_payment_id)
        return decision

    def decide_all(self, lines: Iterable[BankLine]) -> list[Decision]:
        return list(self.decide_each(lines))

    def decide_each(self, lines: Iterable[BankLine]) -> Iterator[Decision]:
        """``decide_all`` one decision at a time (oldest line first), for a caller that stores them as they come."""
        for line in sorted(lines, key=lambda item: (item.booked_on, item.id)):
            yield self.decide(line)

    # ---- reference: payment code

    def _by_code(self, line: BankLine) -> Decision | None:
        ix = self.index
        for rid in codes_in(line.reference):
            code = payment_code(rid)
            if ix.left.get(rid, 0) > 0:
                r = ix.receivables[rid]
                due = ix.left[rid]
                what = ix.describe(rid)
                if line.amount_fen == due:
                    return Decision(line.id, MatchRule.PAYMENT_CODE, CONF_CODE,
                                    f"附言 carries payment code {code} of {what}; the amount {fen(line.amount_fen)} "
                                    "equals what is open: matched",
                                    (Allocation(r.lease_id, r.building_id, line.amount_fen, rid),))
                if line.amount_fen < due:
                    return Decision(
                        line.id, MatchRule.PAYMENT_CODE, CONF_REFERENCE_MISMATCH,
                        f"附言 carries payment code {code} of {what}, but {fen(line.amount_fen)} was paid against "
                        f"{fen(due)} open: a partial payment, proposed",
                        (Allocation(r.lease_id, r.building_id, line.amount_fen, rid),),
                        findings=(Finding(DiscrepancyKind.AMOUNT_MISMATCH, line.amount_fen, due,
                                          f"paid {fen(line.amount_fen)} against {fen(due)} open on {what}",
                                          rid, r.lease_id, r.building_id),))
                allocations, _ = _spread(ix, line, [r.lease_id], rid)
                due_ids = ix.due_by(ix.open_of_lease(r.lease_id), line.booked_on)
                due_total = sum(ix.left[i] for i in set(due_ids) | {rid})
                finding = _excess(line, due_total, f"naming {what}", rid, r.lease_id, r.building_id)
                return Decision(line.id, MatchRule.PAYMENT_CODE, CONF_REFERENCE_MISMATCH,
                                f"附言 carries payment code {code} of {what}; {fen(line.amount_fen)} is more than the "
                                f"{fen(due)} open: that receivable first, the rest oldest first, proposed",
                                tuple(allocations), findings=(finding,))
            if rid in ix.paid:
                return self._duplicate(line, ix.paid[rid], f"附言 carries payment code {code}")
            if rid in ix.receivables:  # paid by an earlier line of this run
                r = ix.receivables[rid]
                paid = PaidReceivable(rid, r.lease_id, r.tenant_id, r.building_id, r.outstanding_fen, r.label)
                return self._duplicate(line, paid, f"附言 carries payment code {code}")
        return None

    def _duplicate(self, line: BankLine, paid: PaidReceivable, why: str) -> Decision:
        recorded = self._recorded(line, paid.tenant_id, lease_id=paid.lease_id)
        if recorded is not None:
            return recorded
        what = self.index.describe(paid.id)
        return Decision(line.id, MatchRule.PAYMENT_CODE, CONF_DUPLICATE,
                        f"{why} of {what}, which is already paid: a duplicate payment; the money is proposed as "
                        "credit on the lease",
                        (credit(self.index, paid.lease_id, line.amount_fen),),
                        findings=(Finding(DiscrepancyKind.DUPLICATE_PAYMENT, line.amount_fen, paid.amount_fen,
                                          f"{fen(line.amount_fen)} paid again for {what}, already paid",
                                          paid.id, paid.lease_id, paid.building_id),))

    # ---- reference: contract number

    def _by_contract(self, line: BankLine) -> Decision | None:
        ix = self.index
        for lease_id in contracts_in(line.reference, ix):
            tenant_id = ix.lease_tenant.get(lease_id)
            recorded = self._recorded(line, tenant_id, lease_id=lease_id) if tenant_id else None
            if recorded is not None:
                return recorded
            ids = ix.open_of_lease(lease_id)
            if not ids:
                continue
            number = ix.receivables[ids[0]].contract_no
            equal = [rid for rid in ids if ix.left[rid] == line.amount_fen]
            if equal:
                rid = equal[0]
                return Decision(line.id, MatchRule.CONTRACT_NO, CONF_CONTRACT,
                                f"附言 names contract {number}; the amount {fen(line.amount_fen)} equals "
                                f"{ix.describe(rid)}: matched",
                                (Allocation(lease_id, ix.lease_building[lease_id], line.amount_fen, rid),))
            due = ix.due_by(ids, line.booked_on)
            total = sum(ix.left[rid] for rid in due)
            if due and total == line.amount_fen:
                allocations, _ = oldest_first(ix, due, line.amount_fen)
                return Decision(line.id, MatchRule.CONTRACT_NO, CONF_CONTRACT,
                                f"附言 names contract {number}; the amount {fen(line.amount_fen)} equals the sum of "
                                f"its {len(due)} receivables due: matched", tuple(allocations))
            allocations, _ = _spread(ix, line, [lease_id], None)
            expected = total or ix.left[ids[0]]
            return Decision(line.id, MatchRule.CONTRACT_NO, CONF_CONTRACT_MISMATCH,
                            f"附言 names contract {number}; {fen(line.amount_fen)} equals no open receivable nor "
                            f"the {fen(total)} due: oldest first, proposed", tuple(allocations),
                            findings=(_excess(line, expected, f"on contract {number}", ids[0], lease_id,
                                              ix.lease_building[lease_id]),))
        return None

    # ---- a payment already recorded by hand

    def _recorded(self, line: BankLine, tenant_id: int | None, *, lease_id: int | None = None,
                  score: int = 100) -> Decision | None:
        if tenant_id is None:
            return None
        window = timedelta(days=RECORDED_WINDOW_DAYS)
        for payment in self.index.recorded.get(tenant_id, ()):
            if payment.id in self.index.used_recorded or payment.amount_fen != line.amount_fen:
                continue
            if lease_id is not None and payment.lease_id != lease_id:
                continue
            if abs(payment.paid_on - line.booked_on) <= window:
                return Decision(line.id, MatchRule.EXISTING_PAYMENT, round(CONF_RECORDED * score / 100),
                                f"payment {payment.id} of {fen(payment.amount_fen)} was recorded by hand on "
                                f"{payment.paid_on} for lease {payment.lease_id}: this line is that money "
                                "(no second payment)", recorded_payment_id=payment.id)
        return None

    # ---- party

    def _by_party(self, line: BankLine) -> Decision | None:
        ix = self.index
        named = ix.parties_named(line.counterparty_name, self.min_name_score)
        if not named:
            return None
        ranked: list[tuple[tuple[int, int, int], Decision]] = []
        considered = []
        for tenant_id, score, matched_name in named:
            party = ix.parties.get(tenant_id)
            label = party.name if party else str(tenant_id)
            how = "the tenant's name" if party and ix.party_key(party) == matched_name else "a registered alias"
            if score < 100:
                how = f"{how} (similarity {score})"
            considered.append({"tenant_id": tenant_id, "name": label, "score": score})
            recorded = self._recorded(line, tenant_id, score=score)
            if recorded is not None:
                ranked.append(((0, score, 3), recorded))
                continue
            ids = ix.open_of_tenant(tenant_id)
            equal = [rid for rid in ids if ix.left[rid] == line.amount_fen]
            if equal:
                rid = equal[0]
                r = ix.receivables[rid]
                ranked.append(((0, score, 2), Decision(
                    line.id, MatchRule.PAYER_AMOUNT, round(CONF_PAYER_AMOUNT * score / 100),
                    f"payer {line.counterparty_name!r} is {how} of {label}; the amount {fen(line.amount_fen)} equals "
                    f"{ix.describe(rid)}", (Allocation(r.lease_id, r.building_id, line.amount_fen, rid),))))
                continue
            due = ix.due_by(ids, line.booked_on)
            if due and sum(ix.left[rid] for rid in due) == line.amount_fen:
                allocations, _ = oldest_first(ix, due, line.amount_fen)
                ranked.append(((0, score, 1), Decision(
                    line.id, MatchRule.PAYER_SUM, round(CONF_PAYER_SUM * score / 100),
                    f"payer {line.counterparty_name!r} is {how} of {label}; the amount {fen(line.amount_fen)} equals "
                    f"the sum of their {len(due)} receivables due", tuple(allocations))))
                continue
            leases = sorted({ix.receivables[rid].lease_id for rid in ids}) or [
                lease for lease, _ in (party.leases if party else ())]
            if not leases:
                continue
            allocations, _ = _spread(ix, line, leases, None)
            total = sum(ix.left[rid] for rid in due) if due else sum(ix.left[rid] for rid in ids)
            first = ids[0] if ids else None
            finding = _excess(line, total, f"from {label}", first, leases[0], ix.lease_building[leases[0]])
            ranked.append(((0, score, 0), Decision(
                line.id, MatchRule.PAYER_PARTIAL, round(CONF_PAYER_PARTIAL * score / 100),
                f"payer {line.counterparty_name!r} is {how} of {label}; {fen(line.amount_fen)} equals none of their "
                "open receivables: oldest first, proposed", tuple(allocations), findings=(finding,))))
        if not ranked:
            return None
        ranked.sort(key=lambda item: item[0], reverse=True)
        best_rank, best = ranked[0]
        rivals = [d for rank, d in ranked[1:] if rank == best_rank]
        candidates = tuple(considered)
        if rivals:
            return Decision(line.id, best.rule, min(best.confidence, CONF_AMBIGUOUS),
                            f"{best.explanation}; but {len(rivals)} other tenant(s) fit as well: proposed for a "
                            "person to choose", best.allocations, best.recorded_payment_id, best.findings, candidates)
        return Decision(line.id, best.rule, best.confidence, best.explanation, best.allocations,
                        best.recorded_payment_id, best.findings, candidates)

    # ---- amount only

    def _by_amount(self, line: BankLine) -> Decision | None:
        ix = self.index
        fits = [rid for rid in ix.by_amount.get(line.amount_fen, ()) if ix.left[rid] == line.amount_fen]
        if len(fits) != 1:
            return None
        r = ix.receivables[fits[0]]
        return Decision(line.id, MatchRule.AMOUNT_ONLY, CONF_AMOUNT_ONLY,
                        f"neither reference nor payer {line.counterparty_name!r} is known; only the amount "
                        f"{fen(line.amount_fen)} equals one open receivable ({ix.describe(r.id)}): proposed, never "
                        "applied without a person",
                        (Allocation(r.lease_id, r.building_id, line.amount_fen, r.id),))

    def _unmatched(self, line: BankLine) -> Decision:
        text = (f"no payment code or contract number in 附言 {line.reference!r}, payer {line.counterparty_name!r} "
                f"is no tenant or alias, and {fen(line.amount_fen)} fits no single open receivable")
        return Decision(line.id, None, 0, text,
                        findings=(Finding(DiscrepancyKind.UNMATCHED_INCOME, line.amount_fen, None,
                                          f"bank income {fen(line.amount_fen)} matched to nothing: {text}"),))
