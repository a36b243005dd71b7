//! The one portable schema, valid for SQLite and PostgreSQL (common types only).

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        establishments -> Text,
        default_locale -> Text,
        audit_seq -> BigInt,
        audit_head -> Text,
        created_at -> Timestamp,
        profile -> Text,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        role -> Text,
        secret_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    incidents (id) {
        id -> Text,
        tenant_id -> Text,
        title -> Text,
        description -> Nullable<Text>,
        occurred_at -> Nullable<Timestamp>,
        discovered_at -> Timestamp,
        aware_at -> Timestamp,
        assessed_at -> Nullable<Timestamp>,
        contained_at -> Nullable<Timestamp>,
        cause -> Nullable<Text>,
        breach_types -> Text,
        data_categories -> Text,
        systems -> Text,
        encrypted -> Bool,
        risk -> Nullable<Text>,
        estimated_affected -> Nullable<BigInt>,
        severity -> Nullable<Text>,
        owner -> Nullable<Text>,
        status -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    timeline_entries (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        at -> Timestamp,
        kind -> Text,
        text -> Text,
        author -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (tenant_id, seq) {
        tenant_id -> Text,
        seq -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        target -> Text,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    obligations (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        regime -> Text,
        recipient -> Text,
        phase -> Text,
        kind -> Text,
        due_at -> Nullable<Timestamp>,
        due_date -> Nullable<Text>,
        time_zone -> Text,
        target_at -> Nullable<Timestamp>,
        limit_at -> Nullable<Timestamp>,
        basis -> Text,
        trigger_reason -> Text,
        error -> Nullable<Text>,
        status -> Text,
        met_at -> Nullable<Timestamp>,
        evidence -> Nullable<Text>,
        waived_reason -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        status_note -> Nullable<Text>,
    }
}

diesel::table! {
    incident_evaluations (incident_id) {
        incident_id -> Text,
        tenant_id -> Text,
        evaluated_at -> Timestamp,
        input -> Text,
        not_triggered -> Text,
    }
}

diesel::table! {
    notice_contents (incident_id) {
        incident_id -> Text,
        tenant_id -> Text,
        default_locale -> Text,
        locales -> Text,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notice_plans (incident_id) {
        incident_id -> Text,
        tenant_id -> Text,
        summary -> Text,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    plan_entries (incident_id, external_id) {
        incident_id -> Text,
        external_id -> Text,
        tenant_id -> Text,
        audience -> Text,
        recipient_name -> Nullable<Text>,
        subject_name -> Nullable<Text>,
        locale -> Text,
        channels -> Text,
        postal_address -> Nullable<Text>,
        unreachable -> Bool,
        wanted_locale -> Nullable<Text>,
    }
}

diesel::table! {
    dispatches (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        status -> Text,
        content -> Text,
        content_hash -> Text,
        link_secret -> Text,
        recipients -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        approved_by -> Nullable<Text>,
        approved_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        warnings -> Text,
        cancelled_by -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    dispatch_recipients (dispatch_id, external_id) {
        dispatch_id -> Text,
        external_id -> Text,
        tenant_id -> Text,
        audience -> Text,
        recipient_name -> Nullable<Text>,
        subject_name -> Nullable<Text>,
        locale -> Text,
        channels -> Text,
        postal_address -> Nullable<Text>,
        next_channel -> Integer,
        state -> Text,
        link_token_hash -> Nullable<Text>,
        updated_at -> Timestamp,
        wanted_locale -> Nullable<Text>,
        covered_by -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        tenant_id -> Text,
        dispatch_id -> Text,
        external_id -> Text,
        channel -> Text,
        address -> Text,
        status -> Text,
        run_at -> Timestamp,
        locked_at -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        attempts -> Integer,
        provider -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        receipt_due_at -> Nullable<Timestamp>,
        send_window -> Text,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> Text,
        outbox_id -> Text,
        at -> Timestamp,
        result -> Text,
        provider -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    relay_pauses (relay) {
        relay -> Text,
        channel -> Text,
        paused_since -> Timestamp,
        paused_until -> Timestamp,
        reason -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> tenants (tenant_id));
diesel::joinable!(incidents -> tenants (tenant_id));
diesel::joinable!(timeline_entries -> incidents (incident_id));

diesel::joinable!(obligations -> incidents (incident_id));

diesel::allow_tables_to_appear_in_same_query!(
    notice_plans,
    plan_entries,
    relay_pauses,
    dispatches,
    dispatch_recipients,
    outbox,
    delivery_attempts,
    notice_contents,
    obligations,
    incident_evaluations,
    tenants,
    api_tokens,
    incidents,
    timeline_entries,
    audit_log
);

diesel::table! {
    subjects (tenant_id, external_id) {
        tenant_id -> Text,
        external_id -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        locale -> Nullable<Text>,
        jurisdiction -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        guardian_name -> Nullable<Text>,
        guardian_email -> Nullable<Text>,
        guardian_phone -> Nullable<Text>,
        push_token -> Nullable<Text>,
        postal_address -> Nullable<Text>,
        preferred_channel -> Nullable<Text>,
        systems -> Text,
        categories -> BigInt,
        content_hash -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        guardian_push_token -> Nullable<Text>,
        guardian_postal_address -> Nullable<Text>,
    }
}

diesel::table! {
    incident_scopes (incident_id) {
        incident_id -> Text,
        tenant_id -> Text,
        systems -> Text,
        data_categories -> Text,
        jurisdictions -> Text,
        subject_ids_count -> BigInt,
        summary -> Nullable<Text>,
        computed_at -> Nullable<Timestamp>,
        frozen_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        set_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    affected_sets (id) {
        id -> BigInt,
        incident_id -> Text,
        created_at -> Timestamp,
        desk_ready -> Bool,
    }
}

diesel::table! {
    desk_contacts (set_id, contact, external_id, audience) {
        set_id -> BigInt,
        contact -> Text,
        external_id -> Text,
        audience -> Text,
    }
}

diesel::table! {
    scope_subject_ids (incident_id, external_id) {
        incident_id -> Text,
        external_id -> Text,
    }
}

diesel::table! {
    affected_subjects (set_id, external_id) {
        set_id -> BigInt,
        external_id -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        locale -> Nullable<Text>,
        jurisdiction -> Nullable<Text>,
        minor -> Bool,
        guardian_name -> Nullable<Text>,
        guardian_email -> Nullable<Text>,
        guardian_phone -> Nullable<Text>,
        push_token -> Nullable<Text>,
        postal_address -> Nullable<Text>,
        preferred_channel -> Nullable<Text>,
        exposed_categories -> BigInt,
        channels -> Integer,
        guardian_push_token -> Nullable<Text>,
        guardian_postal_address -> Nullable<Text>,
    }
}

diesel::table! {
    bulletins (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        status -> Text,
        published_version -> Nullable<Integer>,
        first_published_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        posting_until -> Nullable<Timestamp>,
        posting_basis -> Nullable<Text>,
        withdrawn_at -> Nullable<Timestamp>,
        inquiries -> BigInt,
        inquiries_matched -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        inquiry_key -> Nullable<Text>,
    }
}

diesel::table! {
    bulletin_versions (bulletin_id, version) {
        bulletin_id -> Text,
        version -> Integer,
        tenant_id -> Text,
        kind -> Text,
        entry_id -> Text,
        content -> Text,
        sha256 -> Text,
        author -> Text,
        created_at -> Timestamp,
        approved_by -> Nullable<Text>,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    bulletin_checklist (bulletin_id, kind) {
        bulletin_id -> Text,
        kind -> Text,
        tenant_id -> Text,
        evidence -> Text,
        done_by -> Text,
        done_at -> Timestamp,
    }
}

diesel::table! {
    bulletin_inquiries (id) {
        id -> Text,
        tenant_id -> Text,
        bulletin_id -> Text,
        contact_hash -> Text,
        client_hash -> Text,
        at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    bulletins,
    bulletin_versions,
    bulletin_checklist,
    bulletin_inquiries
);
diesel::allow_tables_to_appear_in_same_query!(affected_subjects, dispatch_recipients);

diesel::table! {
    incident_runbooks (incident_id, runbook_id) {
        incident_id -> Text,
        runbook_id -> Text,
        tenant_id -> Text,
        title -> Text,
        version -> Integer,
        applies -> Bool,
        attached_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tasks (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        runbook_id -> Text,
        item_id -> Text,
        position -> Integer,
        section -> Nullable<Text>,
        text -> Text,
        role -> Text,
        kind -> Text,
        due_rule -> Nullable<Text>,
        due_at -> Nullable<Timestamp>,
        due_basis -> Nullable<Text>,
        due_note -> Nullable<Text>,
        state -> Text,
        assignee -> Nullable<Text>,
        note -> Nullable<Text>,
        evidence -> Nullable<Text>,
        skipped_reason -> Nullable<Text>,
        resolved_by -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reminders (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Nullable<Text>,
        about -> Text,
        about_id -> Text,
        threshold -> Text,
        due_at -> Timestamp,
        claimed_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        role -> Text,
        password_hash -> Nullable<Text>,
        locale -> Nullable<Text>,
        time_zone -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    password_links (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        idle_expires_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> Text,
        throttle_key -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(password_links -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions, password_links, tenants);

diesel::table! {
    report_versions (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        regime -> Text,
        phase -> Text,
        version -> Integer,
        document -> Text,
        sha256 -> Text,
        missing -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        submitted_channel -> Nullable<Text>,
        submitted_reference -> Nullable<Text>,
        submitted_by -> Nullable<Text>,
        submission_recorded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    report_answers (incident_id, regime, item) {
        incident_id -> Text,
        regime -> Text,
        item -> Text,
        tenant_id -> Text,
        answer -> Text,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    report_shares (id) {
        id -> Text,
        tenant_id -> Text,
        incident_id -> Text,
        regime -> Nullable<Text>,
        phase -> Nullable<Text>,
        regulator -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        created_by -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
        views -> BigInt,
        last_viewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    team_messages (id) {
        id -> Text,
        tenant_id -> Text,
        reminder_id -> Text,
        channel -> Text,
        address -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        run_at -> Timestamp,
        locked_at -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(reminders, team_messages);
