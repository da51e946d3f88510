"""How the offline coach honours the participant's active tone tags (facts §4.11): concise
(short questions, no filler), no_emojis, one_question_at_a_time. A real model reads the
same tags in its context and is told to follow them."""

from __future__ import annotations

import re

# The short form of each of the coach's questions, by step (offline_model.QUESTIONS).
SHORT_QUESTIONS = {
    "offer": "Try it now, or personalize first?",
    "habit_domain": "What should your habit be about?",
    "motivational_frame": "Why does it matter to you?",
    "prompt_anchor": "What could it come right after?",
    "preferred_time": "What time should I nudge you?",
    "additional_info": "Anything else I should know?",
    "try_check": "Try a one-minute version now?",
    "motivator": "What helped?",
    "barrier": "What got in the way?",
}
# Sentences a concise coach leaves out: acknowledgements that carry nothing.
FILLER = {
    "Got it.",
    "Thanks!",
    "Great.",
    "Nice.",
    "Love that.",
    "Let's make it yours.",
    "Hi again!",
    "Thanks for the message!",
    "Good to hear from you.",
}
# The schedule told in full, and in short: "I'll send you a nudge every day at 07:20, a few
# minutes before 07:30. When it comes, tap Done or Next time."
NUDGE = re.compile(
    r"I'll send you a nudge every day at (\d\d:\d\d), a few minutes before \d\d:\d\d\. "
    r"When it comes, tap Done or Next time\."
)
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9'(])")


def styled(reply: str, tags: list[str], questions: dict[str, list[str]]) -> str:
    """The reply as the active tags want it; unchanged when none applies."""
    if "concise" in tags:
        reply = _concise(reply, questions)
    if "one_question_at_a_time" in tags:
        reply = _one_question(reply)
    if "no_emojis" in tags:
        reply = re.sub(r"\s{2,}", " ", EMOJI.sub("", reply)).strip()
    return reply


def _concise(reply: str, questions: dict[str, list[str]]) -> str:
    for step, variants in questions.items():
        for variant in variants:
            if step in SHORT_QUESTIONS:
                reply = reply.replace(variant, SHORT_QUESTIONS[step])
    reply = NUDGE.sub(r"Daily nudge: \1.", reply)
    kept = [s for s in SENTENCE.split(reply) if s.strip() not in FILLER]
    return " ".join(kept) or reply


def _one_question(reply: str) -> str:
    """Only the last question stays; earlier ones would leave the participant choosing
    which to answer. (A habit prompt's closing check counts as one.)"""
    sentences = SENTENCE.split(reply)
    asked = [i for i, s in enumerate(sentences) if s.rstrip().endswith("?")]
    drop = set(asked[:-1])
    return " ".join(s for i, s in enumerate(sentences) if i not in drop)
