"""The participant's habit profile: field-wise merge and the server-gated tone rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Fields the model may write with save_user_profile (PromptPipe's names).
TEXT_FIELDS = (
    "habit_domain",
    "prompt_anchor",
    "motivational_frame",
    "preferred_time",
    "additional_info",
    "last_successful_prompt",
    "last_barrier",
    "last_motivator",
    "last_tweak",
)

TONE_TAGS = frozenset(
    {
        "concise",
        "detailed",
        "formal",
        "casual",
        "no_emojis",
        "emojis_ok",
        "bullet_points",
        "one_question_at_a_time",
        "warm_supportive",
        "neutral_professional",
        "direct_coach",
        "gentle_coach",
        "confirm_before_acting",
        "default_actionable",
        "high_autonomy",
    }
)
EXCLUSIVE = (("concise", "detailed"), ("formal", "casual"), ("direct_coach", "gentle_coach"))
ACTIVATE, DEACTIVATE, ALPHA = 0.7, 0.4, 0.15
IMPLICIT_EVERY_SECONDS = 180


def merge(
    profile: dict[str, Any], changes: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], list[str]]:
    """The profile with `changes` applied: a field changes only when the new value is
    non-empty and different. Returns the new profile and the names of the fields changed."""
    merged = dict(profile)
    changed: list[str] = []
    if changes.get("last_blocker") and not changes.get("last_barrier"):
        changes = {**changes, "last_barrier": changes["last_blocker"]}  # PromptPipe's old name
    for name in TEXT_FIELDS:
        value = str(changes.get(name) or "").strip()
        if value and value != merged.get(name):
            merged[name] = value
            changed.append(name)
    # A tweak shapes the next scheduled prompt once (see take_tweak). Saying it again, even in
    # the same words after a new barrier, makes it due again.
    if str(changes.get("last_tweak") or "").strip() and not merged.get("tweak_pending"):
        merged["tweak_pending"] = True
        changed.append("tweak_pending")
    if changes.get("tone_tags"):
        tone, tone_changed = _merge_tone(
            merged.get("tone") or {},
            changes["tone_tags"],
            changes.get("tone_update_source") or "implicit",
            changes.get("tone_confidence"),
            now,
        )
        if tone_changed:
            merged["tone"] = tone
            changed.append("tone")
    if changed:
        merged.setdefault("created_at", now.isoformat())
        merged["updated_at"] = now.isoformat()
    merged.setdefault("intensity", "normal")
    return merged, changed


def pending_tweak(profile: dict[str, Any]) -> str | None:
    """The tweak agreed after the last barrier, while no scheduled prompt has used it yet."""
    tweak = profile.get("last_tweak")
    return str(tweak) if tweak and profile.get("tweak_pending") else None


def _merge_tone(
    tone: dict[str, Any], proposed: list[str], source: str, confidence: float | None, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Whitelisted tags only. Explicit requests apply at once; implicit ones move scores by
    an exponential average at most every three minutes, with hysteresis."""
    tags = sorted({t.strip().lower() for t in proposed} & TONE_TAGS)
    if not tags:
        return tone, False
    scores: dict[str, float] = dict(tone.get("tone_scores") or {})
    if source == "explicit":
        for tag in tags:
            scores[tag] = 1.0
            for a, b in EXCLUSIVE:  # asking for one of a pair turns the other off
                other = b if tag == a else a if tag == b else None
                if other and other not in tags:
                    scores[other] = min(scores.get(other, 0.0), 0.39)
    else:
        last = tone.get("tone_last_updated_at")
        if last and (now - datetime.fromisoformat(last)).total_seconds() < IMPLICIT_EVERY_SECONDS:
            return tone, False
        weight = min(max(float(confidence if confidence is not None else 1.0), 0.0), 1.0)
        for tag in TONE_TAGS | set(scores):
            observed = weight if tag in tags else 0.0
            old = scores.get(tag, 0.0)
            scores[tag] = round(old * (1 - ALPHA) + observed * ALPHA, 4)
    active = set(tone.get("tone_tags") or [])
    for tag, score in scores.items():
        if score >= ACTIVATE:
            active.add(tag)
        elif score <= DEACTIVATE:
            active.discard(tag)
    for a, b in EXCLUSIVE:
        if a in active and b in active:
            loser = a if scores.get(a, 0) < scores.get(b, 0) else b
            scores[loser] = 0.39
            active.discard(loser)
    if "no_emojis" in active:
        active.discard("emojis_ok")
    return {
        "tone_tags": sorted(active),
        "tone_scores": {t: s for t, s in scores.items() if s > 0},
        "tone_version": 1,
        "tone_last_updated_at": now.isoformat(),
        "tone_update_source": source,
    }, True
