"""Every change of state, one function each (as Zulip's `zerver/actions/`).

Each action takes ids and the actor, opens its own transaction (`base.atomic`), writes its
audit rows in it, and publishes hub events (and delivers to channels) only after the commit.
HTTP handlers and channel adapters call actions; nothing else writes case-core tables.

    base.py          atomic(), OnCommit (events after commit), ActionError (→ HTTP status)
    inbound.py       process(router, event): one resident event (dedupe, store, dialog step)
    effects.py       the dialog's typed effects, one handler per type (a registry)
    conversation.py  claim, transfer, release, close, block, start_webchat_session; in the step:
                     request_human_in, end_in, mark_urgent_in, flag_look_in
    messages.py      counsellor_message, notice, record_delivery
    case.py          create_from_intake_in, open_from_conversation, set_status, add_note, set_programmes
    casework.py      record_triage, refer, update_referral, record_placement, complete_review (issue 13)
    casework_docs.py save_document (assessment, plan: versions), approve_plan (支援調整会議)
    consent.py       record_in, record
    purge.py         unconsented_in, stale
    moderation.py    warn, remove (a lead's first and second steps; block is conversation.block)
    survey.py        invite_in (on close), advance_in / answer_webchat, record_answer (the post-session survey, anonymous)
"""
