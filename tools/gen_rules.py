"""Writes data/rules.yml: the fixed routing of intents, forms and their digressions.

Kept as a generator because every form needs the same digression rules; run it after
changing the tables below (`python tools/gen_rules.py`).
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# intent -> action that answers it outside any form
ANSWERS = {
    "greet": "action_greet",
    "goodbye": "utter_goodbye",
    "thank": "action_thank",
    "check_subscription": "action_check_subscriptions",
    "query_cancellation": "action_query_cancellation",
    "ask_cancel_methods": "action_cancel_methods",
    "ask_consequences": "action_explain_consequences",
    "report_unexpected_charge": "action_review_charges",
    "ask_legal_rights": "utter_legal_rights",
    "request_human": "action_handoff",
    "out_of_scope": "utter_out_of_scope",
    "resend_code": "action_resend_code",
    "nlu_fallback": "action_handle_fallback",
    # a bare yes or no is read against the question just asked (actions/short_answer.py)
    "affirm": "action_short_answer",
    "deny": "action_short_answer",
    "inform": "action_handle_inform",
}
# actions after which the rules decide what comes next from the next_step slot
DECIDING = ("action_handle_fallback", "action_short_answer")
# digressions answered inside a form, after which the form asks its question again
DIGRESSIONS = {
    "greet": "utter_greet_in_flow",
    "thank": "utter_welcome_in_flow",
    "ask_cancel_methods": "action_cancel_methods",
    "ask_consequences": "action_explain_consequences",
    "ask_legal_rights": "utter_legal_rights",
    "out_of_scope": "utter_out_of_scope",
    "resend_code": "action_resend_code",
    "nlu_fallback": "action_handle_fallback",
    "inform": "action_handle_inform",
    "affirm": "action_handle_inform",
    "query_cancellation": "action_query_cancellation",
}
FORMS = {
    "cancel_form": "action_cancel_subscription",
    "identity_form": "action_after_identity",
    "reason_form": "action_after_reason",
}


def rule(name, steps, condition=None, wait=None):
    """One rule in Rasa's YAML shape."""
    body = {"rule": name}
    if condition:
        body["condition"] = condition
    body["steps"] = steps
    if wait is False:
        body["wait_for_user_input"] = False
    return body


def activate(form, intent, entities=None):
    step = {"intent": intent}
    if entities:
        step["entities"] = entities
    return [step, {"action": form}, {"active_loop": form}]


def build() -> list:
    """All rules."""
    rules = []
    for intent, action in ANSWERS.items():
        steps = [{"intent": intent}, {"action": action}]
        if action == "action_handoff":
            steps.append({"active_loop": None})
        if action in DECIDING:
            rules.append(rule(f"answer {intent}", steps, wait=False))
            continue
        rules.append(rule(f"answer {intent}", steps))
    rules += [
        rule(
            "wait after asking to rephrase",
            [
                {"action": "action_handle_fallback"},
                {"slot_was_set": [{"next_step": "listen"}]},
                {"action": "action_listen"},
            ],
        ),
        rule(
            "wait after offering a human",
            [
                {"action": "action_handle_fallback"},
                {"slot_was_set": [{"next_step": "offer_human"}]},
                {"action": "action_listen"},
            ],
        ),
        rule(
            "wait after a short answer",
            [
                {"action": "action_short_answer"},
                {"slot_was_set": [{"next_step": "listen"}]},
                {"action": "action_listen"},
            ],
        ),
        rule(
            "a yes to cancelling starts a cancellation",
            [
                {"action": "action_short_answer"},
                {"slot_was_set": [{"next_step": "cancel"}]},
                {"action": "cancel_form"},
                {"active_loop": "cancel_form"},
            ],
        ),
    ]
    rules += [
        rule("start a cancellation", activate("cancel_form", "cancel_subscription")),
        rule(
            "a membership name alone starts a cancellation",
            activate("cancel_form", "inform", ["service"]),
        ),
        rule(
            "a phone number alone starts verification",
            activate("identity_form", "inform", ["phone_number"]),
        ),
        rule(
            "a phone number and a membership start a cancellation",
            activate("cancel_form", "inform", ["phone_number", "service"]),
        ),
        rule(
            "a reference number alone is looked up",
            [
                {"intent": "inform", "entities": ["reference_number"]},
                {"action": "action_query_cancellation"},
            ],
        ),
    ]
    for intent in ("check_subscription", "report_unexpected_charge", "query_cancellation"):
        rules.append(
            rule(
                f"{intent} with a phone number verifies first",
                activate("identity_form", intent, ["phone_number"]),
            )
        )
    for form, submit in FORMS.items():
        steps = [
            {"action": form},
            {"active_loop": None},
            {"slot_was_set": [{"requested_slot": None}]},
            {"action": submit},
        ]
        if submit == "action_after_reason":
            steps.append({"slot_was_set": [{"next_step": "another"}]})
        rules.append(
            rule(
                f"submit {form}",
                steps,
                condition=[{"active_loop": form}],
                wait=False if submit == "action_cancel_subscription" else None,
            )
        )
        for intent, action in DIGRESSIONS.items():
            if form == "reason_form" and intent in (
                "inform",
                "affirm",
                "nlu_fallback",
                "out_of_scope",
            ):
                continue  # the reason form takes these as the reason itself
            steps = [{"intent": intent}, {"action": action}]
            if action == "action_handle_fallback":
                steps.append({"slot_was_set": [{"next_step": "listen"}]})
            steps += [{"action": form}, {"active_loop": form}]
            rules.append(rule(f"{intent} inside {form}", steps, condition=[{"active_loop": form}]))
        for intent in ("request_human",):
            rules.append(
                rule(
                    f"{intent} inside {form}",
                    [{"intent": intent}, {"action": "action_handoff"}, {"active_loop": None}],
                    condition=[{"active_loop": form}],
                )
            )
        stop = "action_stop_flow" if form != "reason_form" else "action_deactivate_loop"
        if form != "reason_form":
            rules.append(
                rule(
                    f"give up inside {form}",
                    [{"intent": "deny"}, {"action": stop}, {"active_loop": None}],
                    condition=[{"active_loop": form}],
                )
            )
        for intent, target in (
            ("cancel_subscription", "cancel_form"),
            ("check_subscription", "action_check_subscriptions"),
            ("report_unexpected_charge", "action_review_charges"),
            ("goodbye", "utter_goodbye"),
        ):
            if form == "cancel_form" and intent == "cancel_subscription":
                continue  # the form itself picks up a newly named membership
            steps = [
                {"intent": intent},
                {"action": "action_deactivate_loop"},
                {"active_loop": None},
            ]
            if target.endswith("_form"):
                steps += [{"action": target}, {"active_loop": target}]
            else:
                steps += [{"action": target}]
            rules.append(rule(f"{intent} leaves {form}", steps, condition=[{"active_loop": form}]))
    # what a flow's last action expects next
    rules += [
        rule(
            "ask the reason after a cancellation",
            [
                {"action": "action_cancel_subscription"},
                {"slot_was_set": [{"next_step": "reason"}]},
                {"action": "reason_form"},
                {"active_loop": "reason_form"},
            ],
        ),
        rule(
            "go on with the next membership",
            [
                {"action": "action_cancel_subscription"},
                {"slot_was_set": [{"next_step": "next_membership"}]},
                {"action": "cancel_form"},
                {"active_loop": "cancel_form"},
            ],
        ),
        rule(
            "wait after a cancellation flow ends",
            [
                {"action": "action_cancel_subscription"},
                {"slot_was_set": [{"next_step": "another"}]},
                {"action": "action_listen"},
            ],
        ),
        rule(
            "wait when nothing was cancelled",
            [
                {"action": "action_cancel_subscription"},
                {"slot_was_set": [{"next_step": "listen"}]},
                {"action": "action_listen"},
            ],
        ),
    ]
    return rules


class FlowStep(dict):
    """A rule step, written on one line: `- {intent: greet}`."""


yaml.SafeDumper.add_representer(
    FlowStep,
    lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True),
)


def main() -> None:
    """Writes the file."""
    header = "# Generated by tools/gen_rules.py: edit the tables there, then run it.\n"
    rules = build()
    for item in rules:
        item["steps"] = [FlowStep(step) for step in item["steps"]]
        if "condition" in item:
            item["condition"] = [FlowStep(step) for step in item["condition"]]
    text = yaml.safe_dump({"version": "3.1", "rules": rules}, allow_unicode=True, sort_keys=False)
    (ROOT / "data" / "rules.yml").write_text(header + text, encoding="utf-8")


if __name__ == "__main__":
    main()
