"""Case work after the intake (issue 13): triage, referrals, assessment and plan versions,
reviews and follow-ups, and the blind-index search. Tables in `models`; the pure rules
(review schedules, phone and name normalisation, template checks) in their own modules.
Writes happen only in handoff.actions.casework*, which call the helpers here."""
