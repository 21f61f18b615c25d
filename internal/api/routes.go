package api

import (
	"net/http"

	"github.com/patchwave/patchwave"
	"github.com/patchwave/patchwave/internal/report"
	"github.com/patchwave/patchwave/internal/store"
	"github.com/patchwave/patchwave/internal/ticket"
)

// route is one API endpoint: the table drives the mux, authentication and
// the OpenAPI document alike.
type route struct {
	method, path string
	summary      string
	auth         authKind
	in, out      any // example values of the request and response bodies, for the document
	query        []string
	status       int // success status, 200 when 0
	h            func(http.ResponseWriter, *http.Request) error
}

// The response envelopes of list endpoints.
type (
	hostList struct {
		Hosts []hostT `json:"hosts"`
		Next  string  `json:"next"`
	}
	packageList struct {
		Packages []packageT `json:"packages"`
	}
	enrollTokenList struct {
		EnrollTokens []enrollTokenT `json:"enroll_tokens"`
	}
	tokenList struct {
		Tokens []apiTokenT `json:"tokens"`
	}
	userList struct {
		Users []userT `json:"users"`
	}
	auditList struct {
		Events []auditT `json:"events"`
	}
	approvalList struct {
		Approvals []patchwave.Approval `json:"approvals"`
	}
)

func (a *API) table() []route {
	return []route{
		{method: "POST", path: "/api/v1/login", summary: "Sign in with a user name and password; returns an API token for the CLI", auth: authNone, in: loginRequest{}, out: loginResponse{}, h: a.login},
		{method: "GET", path: "/api/v1/me", summary: "The signed-in user", auth: authUser, out: userT{}, h: a.me},

		{method: "GET", path: "/api/v1/hosts", summary: "List hosts, filtered and paginated", auth: authUser, out: hostList{}, query: []string{"site", "tier", "tag", "os", "stale", "eol", "q", "after", "limit"}, h: a.listHosts},
		{method: "GET", path: "/api/v1/hosts/{host}", summary: "One host by id or hostname", auth: authUser, out: hostT{}, h: a.getHost},
		{method: "GET", path: "/api/v1/hosts/{host}/packages", summary: "Every installed package of a host", auth: authUser, out: packageList{}, h: a.hostPackages},
		{method: "PATCH", path: "/api/v1/hosts/{host}", summary: "Change a host's site, tier, owner or tags", auth: authUser, in: hostUpdateT{}, out: hostT{}, h: a.updateHost},
		{method: "POST", path: "/api/v1/hosts/{host}/revoke", summary: "Revoke a host's agent credential", auth: authUser, out: hostT{}, h: a.revokeHost},
		{method: "DELETE", path: "/api/v1/hosts/{host}", summary: "Delete a host", auth: authUser, status: http.StatusNoContent, h: a.deleteHost},
		{method: "POST", path: "/api/v1/hosts/import", summary: "Import agentless assets from CSV (hostname, ip, os, site, tier, owner, tags, fqdn, mac)", auth: authUser, in: csvBody{}, out: importResult{}, h: a.importHosts},

		{method: "POST", path: "/api/v1/enroll-tokens", summary: "Create an enrollment token for agents", auth: authUser, in: enrollTokenRequest{}, out: enrollTokenT{}, status: http.StatusCreated, h: a.createEnrollToken},
		{method: "GET", path: "/api/v1/enroll-tokens", summary: "List enrollment tokens", auth: authUser, out: enrollTokenList{}, h: a.listEnrollTokens},
		{method: "DELETE", path: "/api/v1/enroll-tokens/{id}", summary: "Revoke an enrollment token", auth: authUser, status: http.StatusNoContent, h: a.revokeEnrollToken},

		{method: "POST", path: "/api/v1/tokens", summary: "Create an API token for the signed-in user", auth: authUser, in: tokenRequest{}, out: apiTokenT{}, status: http.StatusCreated, h: a.createToken},
		{method: "GET", path: "/api/v1/tokens", summary: "List API tokens (an admin sees everyone's)", auth: authUser, out: tokenList{}, h: a.listTokens},
		{method: "DELETE", path: "/api/v1/tokens/{id}", summary: "Revoke an API token", auth: authUser, status: http.StatusNoContent, h: a.revokeToken},

		{method: "POST", path: "/api/v1/users", summary: "Create a user (admin)", auth: authUser, in: userRequest{}, out: userT{}, status: http.StatusCreated, h: a.createUser},
		{method: "GET", path: "/api/v1/users", summary: "List users", auth: authUser, out: userList{}, h: a.listUsers},
		{method: "PATCH", path: "/api/v1/users/{name}", summary: "Change a user's role, sites, password or state (admin)", auth: authUser, in: userChangeRequest{}, out: userT{}, h: a.updateUser},

		{method: "GET", path: "/api/v1/audit", summary: "The audit trail, newest first", auth: authUser, out: auditList{}, query: []string{"before", "limit"}, h: a.listAudit},
		{method: "GET", path: "/api/v1/audit/verify", summary: "Walk the audit hash chain and name the first broken link; with head_id and head from an earlier run, also prove nothing was cut off the end", auth: authUser, out: auditVerification{}, query: []string{"head_id", "head"}, h: a.verifyAudit},
		{method: "GET", path: "/api/v1/audit/export", summary: "The audit trail of a date range (from, to: dates or RFC 3339 times) in id order, as JSON, JSON lines or CSV, streamed", auth: authUser, out: auditList{}, query: []string{"from", "to", "format"}, h: a.exportAudit},

		{method: "GET", path: "/api/v1/reports/compliance", summary: "The monthly compliance report (month=2026-11, the current month by default) as JSON, CSV, an HTML page with charts or PDF", auth: authUser, out: report.Report{}, query: []string{"month", "format"}, h: a.reportCompliance},
		{method: "POST", path: "/api/v1/releases/{release}/evidence", summary: "A signed evidence bundle of a release (tar.gz): frozen patch sets, approvals, wave events, task results, exceptions in force and final compliance, with a manifest of SHA-256 hashes signed with Ed25519", auth: authUser, h: a.exportEvidence},
		{method: "GET", path: "/api/v1/evidence/key", summary: "The public key evidence bundles are signed with, to verify them offline", auth: authUser, out: evidenceKeyT{}, h: a.evidenceKey},
		{method: "GET", path: "/api/v1/reports/releases/{release}", summary: "A release's report: its waves and its hosts' metrics, as JSON, CSV, HTML or PDF", auth: authUser, out: report.Report{}, query: []string{"format"}, h: a.reportRelease},

		{method: "GET", path: "/api/v1/findings", summary: "Open findings across the fleet, filtered and paginated (sort=risk: highest risk first, after= is then an offset)", auth: authUser, out: findingList{}, query: []string{"host", "site", "tier", "severity", "kev", "cve", "advisory", "package", "has_fix", "state", "sla", "excepted", "sort", "after", "limit"}, h: a.listFindings},
		{method: "GET", path: "/api/v1/hosts/{host}/findings", summary: "A host's findings: missing patches and unfixed vulnerabilities", auth: authUser, out: findingList{}, query: []string{"severity", "kev", "has_fix", "state"}, h: a.hostFindings},
		{method: "GET", path: "/api/v1/advisories/{id}", summary: "An advisory and the findings it causes", auth: authUser, out: advisoryPage{}, h: a.getAdvisory},
		{method: "GET", path: "/api/v1/feeds", summary: "Advisory and enrichment feeds with the state of their last synchronisation", auth: authUser, out: feedList{}, h: a.listFeeds},
		{method: "POST", path: "/api/v1/feeds", summary: "Create or change a feed (kind osv, kev, epss, msrc or eol; URL and interval for scheduled sync)", auth: authUser, in: feedRequest{}, out: feedT{}, h: a.putFeed},
		{method: "DELETE", path: "/api/v1/feeds/{name}", summary: "Delete a feed (its records stay)", auth: authUser, status: http.StatusNoContent, h: a.deleteFeed},
		{method: "POST", path: "/api/v1/feeds/{name}/sync", summary: "Fetch a feed's source now and import it when it changed", auth: authUser, out: feedT{}, h: a.syncFeed},
		{method: "POST", path: "/api/v1/feeds/{name}/import", summary: "Import a feed file sent as the request body (air-gapped sites)", auth: authUser, in: uploadBody{}, out: feedT{}, query: []string{"kind", "force"}, h: a.importFeed},

		{method: "GET", path: "/api/v1/sla", summary: "The SLA policy: remediation days by tier and severity", auth: authUser, out: slaT{}, h: a.getSLA},
		{method: "PUT", path: "/api/v1/sla", summary: "Replace the SLA policy", auth: authUser, in: slaT{}, out: slaT{}, h: a.putSLA},
		{method: "GET", path: "/api/v1/baselines", summary: "Patch approval baselines", auth: authUser, out: baselineList{}, h: a.listBaselines},
		{method: "POST", path: "/api/v1/baselines", summary: "Create a baseline", auth: authUser, in: baselineT{}, out: baselineT{}, status: http.StatusCreated, h: a.putBaseline},
		{method: "GET", path: "/api/v1/baselines/{name}", summary: "One baseline by name or id", auth: authUser, out: baselineT{}, h: a.getBaseline},
		{method: "PUT", path: "/api/v1/baselines/{name}", summary: "Replace a baseline", auth: authUser, in: baselineT{}, out: baselineT{}, h: a.putBaseline},
		{method: "DELETE", path: "/api/v1/baselines/{name}", summary: "Delete a baseline", auth: authUser, status: http.StatusNoContent, h: a.deletePolicy(store.PolicyBaseline, "baseline")},
		{method: "GET", path: "/api/v1/baselines/{name}/preview", summary: "What the baseline approves today, for which hosts", auth: authUser, out: previewList{}, h: a.previewBaseline},
		{method: "GET", path: "/api/v1/exceptions", summary: "Exclusions, restrictions and risk acceptances with their current state", auth: authUser, out: exceptionList{}, query: []string{"state", "kind", "site", "host"}, h: a.listExceptions},
		{method: "POST", path: "/api/v1/exceptions", summary: "Request an exception (approved at once when no approval is needed)", auth: authUser, in: exceptionT{}, out: exceptionT{}, status: http.StatusCreated, h: a.createException},
		{method: "GET", path: "/api/v1/exceptions/{id}", summary: "One exception", auth: authUser, out: exceptionT{}, h: a.getException},
		{method: "POST", path: "/api/v1/exceptions/{id}/approve", summary: "Approve a pending exception (approvers, admins)", auth: authUser, in: exceptionDecision{}, out: exceptionT{}, h: a.decideException(patchwave.ExceptionApproved)},
		{method: "POST", path: "/api/v1/exceptions/{id}/reject", summary: "Reject a pending exception (approvers, admins)", auth: authUser, in: exceptionDecision{}, out: exceptionT{}, h: a.decideException(patchwave.ExceptionRejected)},
		{method: "POST", path: "/api/v1/exceptions/{id}/revoke", summary: "Revoke an exception", auth: authUser, in: exceptionDecision{}, out: exceptionT{}, h: a.decideException(patchwave.ExceptionRevoked)},
		{method: "GET", path: "/api/v1/service-baselines", summary: "Services expected to run, per selector", auth: authUser, out: serviceBaselineList{}, h: a.listServiceBaselines},
		{method: "POST", path: "/api/v1/service-baselines", summary: "Create a service baseline", auth: authUser, in: serviceBaselineT{}, out: serviceBaselineT{}, status: http.StatusCreated, h: a.createServiceBaseline},
		{method: "DELETE", path: "/api/v1/service-baselines/{name}", summary: "Delete a service baseline", auth: authUser, status: http.StatusNoContent, h: a.deletePolicy(store.PolicyServiceBaseline, "service baseline")},
		{method: "GET", path: "/api/v1/tier-rules", summary: "Rules that set hosts' tiers by selector (the first match wins; a tier set by hand is kept)", auth: authUser, out: tierRuleList{}, h: a.listTierRules},
		{method: "POST", path: "/api/v1/tier-rules", summary: "Add a tier rule", auth: authUser, in: tierRule{}, out: tierRule{}, status: http.StatusCreated, h: a.createTierRule},
		{method: "DELETE", path: "/api/v1/tier-rules/{name}", summary: "Delete a tier rule by id", auth: authUser, status: http.StatusNoContent, h: a.deletePolicy(store.PolicyTierRule, "tier rule")},
		{method: "GET", path: "/api/v1/compliance", summary: "Each host's compliance state under the policy, with counts", auth: authUser, out: complianceReport{}, query: []string{"host", "site", "tier", "tag", "os"}, h: a.compliance},

		{method: "GET", path: "/api/v1/cadence", summary: "The release cadence: the release rule, its time zone and the phases of a cycle", auth: authUser, out: cadenceT{}, h: a.getCadence},
		{method: "PUT", path: "/api/v1/cadence", summary: "Replace the release cadence (admins, operators)", auth: authUser, in: cadenceT{}, out: cadenceT{}, h: a.putCadence},
		{method: "GET", path: "/api/v1/cycles", summary: "Release cycles with the dates of their phases (default: the next 3)", auth: authUser, out: cycleList{}, query: []string{"from", "to", "count"}, h: a.listCycles},
		{method: "GET", path: "/api/v1/windows", summary: "Maintenance windows, each with its next openings", auth: authUser, out: windowList{}, h: a.listWindows},
		{method: "POST", path: "/api/v1/windows", summary: "Add a maintenance window or, with blocking, a change freeze (admins, operators)", auth: authUser, in: windowT{}, out: windowT{}, status: http.StatusCreated, h: a.createWindow},
		{method: "DELETE", path: "/api/v1/windows/{name}", summary: "Delete a maintenance window", auth: authUser, status: http.StatusNoContent, h: a.deletePolicy(store.PolicyWindow, "window")},
		{method: "GET", path: "/api/v1/hosts/{host}/windows", summary: "A host's windows and next openings (blocking windows taken out)", auth: authUser, out: hostWindows{}, query: []string{"count"}, h: a.hostWindowsOf},

		{method: "GET", path: "/api/v1/waves", summary: "The wave plan new releases take", auth: authUser, out: waveList{}, h: a.getWaves},
		{method: "PUT", path: "/api/v1/waves", summary: "Replace the wave plan (admins, operators); running releases keep theirs", auth: authUser, in: waveList{}, out: waveList{}, h: a.putWaves},
		{method: "POST", path: "/api/v1/releases", summary: "Freeze the approved patches into a release (monthly for a cycle, or out of band) and schedule its rollout", auth: authUser, in: releaseRequest{}, out: Release{}, status: http.StatusCreated, h: a.createRelease},
		{method: "GET", path: "/api/v1/releases", summary: "Releases, newest first", auth: authUser, out: releaseList{}, query: []string{"active"}, h: a.listReleases},
		{method: "GET", path: "/api/v1/releases/{release}", summary: "One release by name or id", auth: authUser, out: Release{}, h: a.getRelease},
		{method: "GET", path: "/api/v1/releases/{release}/patch-sets", summary: "A release's frozen patch sets (checked against their hashes)", auth: authUser, out: patchSetList{}, h: a.releasePatchSets},
		{method: "GET", path: "/api/v1/releases/{release}/plan", summary: "Which hosts get which patches in which wave, when and in which window", auth: authUser, out: Plan{}, query: []string{"host", "wave", "limit"}, h: a.releasePlan},
		{method: "GET", path: "/api/v1/rollouts/{release}", summary: "A release's rollout: its state and each wave's progress", auth: authUser, out: Rollout{}, h: a.getRollout},
		{method: "POST", path: "/api/v1/rollouts/{release}/pause", summary: "Pause a rollout: no new task starts (admins, operators)", auth: authUser, in: RolloutAction{}, out: Rollout{}, h: a.rolloutAct("pause")},
		{method: "POST", path: "/api/v1/rollouts/{release}/resume", summary: "Resume a paused or halted rollout, optionally retrying failed tasks", auth: authUser, in: RolloutAction{}, out: Rollout{}, h: a.rolloutAct("resume")},
		{method: "POST", path: "/api/v1/rollouts/{release}/halt", summary: "Halt a rollout", auth: authUser, in: RolloutAction{}, out: Rollout{}, h: a.rolloutAct("halt")},
		{method: "POST", path: "/api/v1/rollouts/{release}/abort", summary: "Abort a rollout for good: tasks not started are canceled", auth: authUser, in: RolloutAction{}, out: Rollout{}, h: a.rolloutAct("abort")},
		{method: "POST", path: "/api/v1/rollouts/{release}/approvals", summary: "Approve or reject a wave's start or promotion (the approvers the wave names)", auth: authUser, in: ApprovalRequest{}, out: patchwave.Approval{}, status: http.StatusCreated, h: a.approveWave},
		{method: "GET", path: "/api/v1/rollouts/{release}/approvals", summary: "A rollout's approvals", auth: authUser, out: approvalList{}, h: a.listApprovals},
		{method: "POST", path: "/api/v1/rollouts/{release}/promote", summary: "Promote a running wave past its gate (admins, with a reason)", auth: authUser, in: promoteRequest{}, out: Rollout{}, h: a.promoteWave},
		{method: "POST", path: "/api/v1/rollouts/{release}/retry", summary: "Retry failed tasks (of the hosts named, or all) at the hosts' next openings", auth: authUser, in: retryRequest{}, out: retryResult{}, h: a.retryTasks},
		{method: "GET", path: "/api/v1/rollouts/{release}/tasks", summary: "A rollout's tasks, filtered and paginated", auth: authUser, out: taskList{}, query: []string{"wave", "state", "host", "after", "limit"}, h: a.listTasks},
		{method: "GET", path: "/api/v1/rollouts/{release}/events", summary: "What the driver and people decided, with reasons, oldest first", auth: authUser, out: eventList{}, query: []string{"host", "limit"}, h: a.listEvents},
		{method: "GET", path: "/api/v1/rollouts/{release}/explain", summary: "Why a host has (not) been patched yet", auth: authUser, out: explainT{}, query: []string{"host"}, h: a.explain},

		{method: "POST", path: "/api/v1/agent/enroll", summary: "An agent trades an enrollment token for its own credential", auth: authNone, in: enrollRequestT{}, out: enrollResponseT{}, h: a.enroll},
		{method: "POST", path: "/api/v1/agent/checkin", summary: "An agent reports its state (hashes; facts and packages when they changed)", auth: authAgent, in: checkinRequestT{}, out: checkinResponseT{}, h: a.checkin},
		{method: "POST", path: "/api/v1/hosts/{host}/tasks", summary: "Ask a host's agent for a scan, a verification or rollback of a release's patches, a reboot or a configured hook", auth: authUser, in: hostTaskRequest{}, out: patchwave.Task{}, status: http.StatusCreated, h: a.createHostTask},
		{method: "GET", path: "/api/v1/hosts/{host}/tasks", summary: "A host's tasks, of rollouts and asked for, oldest first", auth: authUser, out: taskList{}, query: []string{"after", "limit"}, h: a.hostTasks},
		{method: "GET", path: "/api/v1/tasks/{id}", summary: "One task with the agent's report: versions before and after, hooks, checks, output", auth: authUser, out: patchwave.Task{}, h: a.getTask},
		{method: "POST", path: "/api/v1/agent/wait", summary: "An agent's long poll: answers as soon as a task is due, or after the timeout", auth: authAgent, in: patchwave.WaitRequest{}, out: patchwave.WaitResponse{}, h: a.waitForTasks},
		{method: "POST", path: "/api/v1/agent/results", summary: "An agent reports its tasks' progress and results (idempotent by task and attempt)", auth: authAgent, in: patchwave.TaskResults{}, out: patchwave.TaskResultsResponse{}, h: a.taskResults},

		{method: "GET", path: "/api/v1/tickets", summary: "Follow-up tickets of failed tasks (default: open and acknowledged ones; state=… or all=true for others)", auth: authUser, out: ticketList{}, query: []string{"state", "all", "severity", "site", "host", "queue", "assignee", "after", "limit"}, h: a.listTickets},
		{method: "GET", path: "/api/v1/tickets/{id}", summary: "One ticket with its history, its task's output and the troubleshooting guide that matches", auth: authUser, out: ticket.Ticket{}, h: a.getTicket},
		{method: "POST", path: "/api/v1/tickets/{id}/ack", summary: "Acknowledge a ticket: somebody is on it, it escalates no further", auth: authUser, in: ticketAction{}, out: ticket.Ticket{}, h: a.ticketAct(ticket.Acknowledged)},
		{method: "POST", path: "/api/v1/tickets/{id}/resolve", summary: "Resolve a ticket by hand (tickets also resolve themselves when the host's task succeeds)", auth: authUser, in: ticketAction{}, out: ticket.Ticket{}, h: a.ticketAct(ticket.Resolved)},
		{method: "POST", path: "/api/v1/tickets/{id}/wont-fix", summary: "Close a ticket as won't fix, with a comment saying why", auth: authUser, in: ticketAction{}, out: ticket.Ticket{}, h: a.ticketAct(ticket.WontFix)},
		{method: "POST", path: "/api/v1/tickets/{id}/reopen", summary: "Open a resolved or won't-fix ticket again", auth: authUser, in: ticketAction{}, out: ticket.Ticket{}, h: a.ticketAct(ticket.Open)},
		{method: "POST", path: "/api/v1/tickets/{id}/comments", summary: "Comment on a ticket", auth: authUser, in: ticketAction{}, out: ticket.Ticket{}, h: a.ticketAct("")},
		{method: "GET", path: "/api/v1/ticket-policy", summary: "How tickets are routed (site and tier → assignee or queue) and escalated", auth: authUser, out: ticket.Policy{}, h: a.getTicketPolicy},
		{method: "PUT", path: "/api/v1/ticket-policy", summary: "Replace the ticket routing and escalation policy (admins, operators)", auth: authUser, in: ticket.Policy{}, out: ticket.Policy{}, h: a.putTicketPolicy},
		{method: "GET", path: "/api/v1/guides", summary: "Troubleshooting guides: operators' first, then the built-in ones", auth: authUser, out: guideList{}, h: a.listGuides},
		{method: "POST", path: "/api/v1/guides", summary: "Add a troubleshooting guide: a failure pattern (RE2 regexp) and remediation steps (admins, operators)", auth: authUser, in: ticket.Guide{}, out: ticket.Guide{}, status: http.StatusCreated, h: a.createGuide},
		{method: "DELETE", path: "/api/v1/guides/{name}", summary: "Delete an operator's troubleshooting guide", auth: authUser, status: http.StatusNoContent, h: a.deleteGuide},
		{method: "GET", path: "/api/v1/notifications/channels", summary: "Notification channels, secrets redacted (admins, operators)", auth: authUser, out: channelList{}, h: a.listChannels},
		{method: "POST", path: "/api/v1/notifications/channels", summary: "Add a notification channel: webhook, slack, teams or email (admins, operators)", auth: authUser, in: channelT{}, out: channelT{}, status: http.StatusCreated, h: a.createChannel},
		{method: "DELETE", path: "/api/v1/notifications/channels/{name}", summary: "Delete a notification channel and its undelivered notices", auth: authUser, status: http.StatusNoContent, h: a.deleteChannel},
		{method: "POST", path: "/api/v1/releases/{release}/feedback", summary: "Report a problem with a release's patches on a host (anyone signed in); optionally opens a ticket", auth: authUser, in: feedbackRequest{}, out: feedbackResult{}, status: http.StatusCreated, h: a.reportProblem},
		{method: "GET", path: "/api/v1/notifications/outbox", summary: "The notification outbox: counts by channel and state, and the undelivered notices (dead letters included)", auth: authUser, out: outboxT{}, query: []string{"state", "limit"}, h: a.getOutbox},

		{method: "GET", path: "/api/v1/openapi.json", summary: "This document", auth: authNone, h: a.openapi},
	}
}
