vocabulary! {
    /// What an API token may do. Every route checks one capability of the role.
    Role {
        Admin => "admin",
        Responder => "responder",
        Approver => "approver",
        Viewer => "viewer",
        Notifier => "notifier",
        Regulator => "regulator",
    }
}

impl Role {
    /// May create and change incidents, timelines and scopes.
    pub fn can_edit_incidents(self) -> bool {
        matches!(self, Role::Admin | Role::Responder | Role::Approver)
    }

    /// May approve a dispatch (the second pair of eyes).
    pub fn can_approve(self) -> bool {
        matches!(self, Role::Approver)
    }

    /// May report what a call centre or the post made of messages handed to them.
    pub fn can_report_delivery(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Responder | Role::Approver | Role::Notifier
        )
    }

    /// May read the audit log.
    pub fn can_read_audit(self) -> bool {
        matches!(self, Role::Admin | Role::Approver)
    }

    /// May import, change and delete subjects, and set incident scopes.
    pub fn can_edit_subjects(self) -> bool {
        self.can_edit_incidents()
    }

    /// May read personal data of subjects (registry, affected lists).
    /// Regulators see incidents and reports, never the people in them.
    pub fn can_read_subjects(self) -> bool {
        !matches!(self, Role::Regulator)
    }

    /// May read an incident's runbook tasks. Tasks are the team's own working
    /// notes (assignees, internal evidence), so regulators never see them.
    pub fn can_read_tasks(self) -> bool {
        !matches!(self, Role::Regulator)
    }

    /// May assign, complete, skip and reopen runbook tasks.
    pub fn can_work_tasks(self) -> bool {
        self.can_edit_incidents()
    }

    /// May read regulator reports. A regulator reads only the reports shared with
    /// regulators (see [`Role::reads_only_shared_reports`]).
    pub fn can_read_reports(self) -> bool {
        !matches!(self, Role::Notifier)
    }

    /// May generate reports, fill their items and record their submission.
    pub fn can_write_reports(self) -> bool {
        self.can_edit_incidents()
    }

    /// May share reports with a regulator and revoke those links.
    pub fn can_share_reports(self) -> bool {
        matches!(self, Role::Admin)
    }

    /// Sees only reports an admin shared with a regulator (by a link still live).
    pub fn reads_only_shared_reports(self) -> bool {
        matches!(self, Role::Regulator)
    }
}

impl Role {
    /// May see the tenant's settings and add people who sign in to the web UI.
    pub fn can_manage_users(self) -> bool {
        matches!(self, Role::Admin)
    }
}
