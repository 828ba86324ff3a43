using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Grants;

namespace AgentArtifacts.Api.Events;

// The public event catalogue: what integrations see of the event log (the feed, webhooks, the audit log). Internal events are
// the service's own facts and may change shape; these are a contract. docs/events.md lists every type with its payload.

/// <summary>Something that happened, as the event log's readers see it.</summary>
/// <param name="Sequence">The event's position in the one global log: increases with every event; <c>GET /events</c> resumes after it.</param>
/// <param name="Type">What happened, a stable dotted name such as <c>artifact.created</c> (see the catalogue).</param>
/// <param name="Time">When it happened (ISO 8601, UTC).</param>
/// <param name="Actor">Who did it.</param>
/// <param name="ResourceType">The kind of resource it happened to: <c>artifact</c> (workspaces and collections too), <c>commit</c>, <c>run</c>, <c>grant</c>, <c>api_key</c>, <c>server_credential</c>, <c>secret</c> or <c>platform</c>.</param>
/// <param name="ResourceId">The resource it happened to (the artifact, run, grant, … id).</param>
/// <param name="ContainerId">The workspace or collection it happened in, at the time: an artifact's container, the container a grant is on (or its artifact's), a commit's workspace, a run's artifact's container; null when none.</param>
/// <param name="ContentType">The content type of the artifact it concerns (a run's: the artifact that runs); null when it concerns no artifact.</param>
/// <param name="TraceId">The W3C trace id of the request that caused it, when recorded.</param>
/// <param name="Data">The type's payload (see the catalogue): ids and what changed, never secrets.</param>
public sealed record PublicEvent(long Sequence, string Type, DateTimeOffset Time, EventActor Actor, string ResourceType, Guid ResourceId,
    Guid? ContainerId, string? ContentType, string? TraceId, object Data);

/// <summary>Who caused an event.</summary>
/// <param name="Type"><c>user</c> (signed in as a user), <c>api_key</c> (a user's API key), <c>server</c> (a server credential) or <c>system</c> (the service itself, e.g. an approval that expired).</param>
/// <param name="UserId">The user: the signed-in user, or the API key's owner; null for a server or the system.</param>
/// <param name="ApiKeyId">The API key used; null unless <c>type</c> is <c>api_key</c>.</param>
/// <param name="ServerId">The server credential (its OAuth client id) used; null unless <c>type</c> is <c>server</c>.</param>
public sealed record EventActor(string Type, Guid? UserId, Guid? ApiKeyId, Guid? ServerId)
{
    public const string User = "user";
    public const string ApiKey = "api_key";
    public const string Server = "server";
    public const string System = "system";

    public static readonly EventActor TheSystem = new(System, null, null, null);
}

/// <summary>Resource kinds a public event names.</summary>
public static class ResourceTypes
{
    public const string Artifact = "artifact";
    public const string Commit = "commit";
    public const string Run = "run";
    public const string Grant = "grant";
    public const string ApiKey = "api_key";
    public const string ServerCredential = "server_credential";
    public const string Secret = "secret";
    public const string Platform = "platform";
    public const string Webhook = "webhook";
}

// ---- Payloads (the `data` of each type). Records, so the OpenAPI document describes each one as a component. ----

/// <summary><c>artifact.created</c>: an artifact, workspace or collection was created.</summary>
/// <param name="ArtifactId">The new artifact.</param>
/// <param name="ContainerId">The workspace it was created in; null for a workspace or collection.</param>
/// <param name="ContentType">Its content type.</param>
/// <param name="Title">Its title.</param>
/// <param name="Description">Its description; null when none.</param>
/// <param name="Tags">Its tags.</param>
public sealed record ArtifactCreatedData(Guid ArtifactId, Guid? ContainerId, string ContentType, string Title, string? Description,
    IReadOnlyList<string> Tags);

/// <summary><c>artifact.checked_out</c>: a committed artifact was brought into a workspace as a draft copy.</summary>
/// <param name="ArtifactId">The new copy.</param>
/// <param name="OriginId">The artifact whose revision it copies.</param>
/// <param name="WorkspaceId">The workspace the copy is in.</param>
/// <param name="BaseRevision">The revision it copies.</param>
/// <param name="ContentType">Its content type.</param>
/// <param name="Title">Its title.</param>
public sealed record ArtifactCheckedOutData(Guid ArtifactId, Guid OriginId, Guid WorkspaceId, int BaseRevision, string ContentType, string Title);

/// <summary>
/// <c>artifact.updated</c>: fields of an artifact's head changed. <c>changed</c> names them (<c>title</c>, <c>description</c>,
/// <c>tags</c>, <c>context</c>, <c>content</c>, <c>targetCollectionIds</c>); the small ones carry their new value, the others
/// (context and content) are read with <c>GET /artifacts/{id}</c>.
/// </summary>
/// <param name="ArtifactId">The artifact.</param>
/// <param name="Changed">The fields that changed.</param>
/// <param name="Title">The new title when <c>changed</c> holds <c>title</c>; else null.</param>
/// <param name="Description">The new description when <c>changed</c> holds <c>description</c> (null: cleared); else null.</param>
/// <param name="Tags">The new tags when <c>changed</c> holds <c>tags</c>; else null.</param>
/// <param name="TargetCollectionIds">A workspace's new commit targets when <c>changed</c> holds <c>targetCollectionIds</c>; else null.</param>
public sealed record ArtifactUpdatedData(Guid ArtifactId, IReadOnlyList<string> Changed, string? Title, string? Description,
    IReadOnlyList<string>? Tags, IReadOnlyList<Guid>? TargetCollectionIds);

/// <summary><c>artifact.archived</c> and <c>artifact.restored</c>.</summary>
/// <param name="ArtifactId">The artifact.</param>
public sealed record ArtifactStateData(Guid ArtifactId);

/// <summary><c>artifact.moved</c>: an artifact moved from one workspace to another.</summary>
/// <param name="ArtifactId">The artifact.</param>
/// <param name="FromContainerId">The workspace it left.</param>
/// <param name="ToContainerId">The workspace it is in now.</param>
public sealed record ArtifactMovedData(Guid ArtifactId, Guid FromContainerId, Guid ToContainerId);

/// <summary>
/// <c>artifact.committed</c>: a commit made a revision of an artifact. Sent for the artifact whose line gained the revision and, when
/// the committed draft was a checked-out copy, for the copy too (<c>artifactId</c> then differs from <c>lineId</c>).
/// </summary>
/// <param name="ArtifactId">The artifact this event is about (the line, or the copy that was committed).</param>
/// <param name="LineId">The artifact that gained the revision.</param>
/// <param name="DraftId">The draft that was committed.</param>
/// <param name="CommitId">The commit (<c>GET /commits/{id}</c>).</param>
/// <param name="Revision">The revision made.</param>
/// <param name="Kind">What the commit did to the artifact.</param>
/// <param name="WorkspaceId">The workspace committed from.</param>
/// <param name="CollectionIds">The collections the revision was published into.</param>
/// <param name="Title">The title at the new revision.</param>
public sealed record ArtifactCommittedData(Guid ArtifactId, Guid LineId, Guid DraftId, Guid CommitId, int Revision, ChangeKind Kind, Guid WorkspaceId,
    IReadOnlyList<Guid> CollectionIds, string Title);

/// <summary><c>artifact.reverted</c>: a draft was discarded; the artifact is back at a committed revision.</summary>
/// <param name="ArtifactId">The artifact.</param>
/// <param name="Revision">The revision it is back at.</param>
/// <param name="Archived">Whether that revision is an archive.</param>
public sealed record ArtifactRevertedData(Guid ArtifactId, int Revision, bool Archived);

/// <summary>One artifact a commit changed.</summary>
/// <param name="ArtifactId">The artifact that gained the revision.</param>
/// <param name="DraftId">The draft that was committed (the artifact, or a checked-out copy of it).</param>
/// <param name="Title">The title at the new revision.</param>
/// <param name="ContentType">The artifact's content type.</param>
/// <param name="Kind">What the commit did to it.</param>
/// <param name="FromRevision">The revision the draft started from; 0 for a new artifact.</param>
/// <param name="ToRevision">The revision made.</param>
public sealed record CommitItemData(Guid ArtifactId, Guid DraftId, string Title, string ContentType, ChangeKind Kind, int FromRevision, int ToRevision);

/// <summary><c>commit.created</c>: a workspace's drafts were committed.</summary>
/// <param name="CommitId">The commit.</param>
/// <param name="WorkspaceId">The workspace committed from.</param>
/// <param name="CollectionIds">The collections that received the revisions.</param>
/// <param name="AuthorId">The user who committed.</param>
/// <param name="Message">The commit message.</param>
/// <param name="Items">What it changed.</param>
public sealed record CommitCreatedData(Guid CommitId, Guid WorkspaceId, IReadOnlyList<Guid> CollectionIds, Guid AuthorId, string Message,
    IReadOnlyList<CommitItemData> Items);

/// <summary><c>run.requested</c>: an operation of an artifact was invoked.</summary>
/// <param name="RunId">The run (<c>GET /runs/{id}</c>).</param>
/// <param name="ArtifactId">The artifact that runs.</param>
/// <param name="Operation">The operation (<c>invoke</c>, or another its type declares).</param>
/// <param name="Kind">How it runs: <c>http</c>, <c>mcp_tool</c>, <c>agent</c> or <c>native</c>.</param>
/// <param name="Mode"><c>sync</c>, <c>async</c> or <c>stream</c>.</param>
/// <param name="Revision">The committed revision pinned; null for the head.</param>
/// <param name="ParentRunId">The agent run that made this tool call; null otherwise.</param>
public sealed record RunRequestedData(Guid RunId, Guid ArtifactId, string Operation, string Kind, string Mode, int? Revision, Guid? ParentRunId);

/// <summary><c>run.started</c>: an attempt of a run started.</summary>
/// <param name="RunId">The run.</param>
/// <param name="ArtifactId">The artifact that runs.</param>
/// <param name="Attempt">The attempt's number, from 1.</param>
public sealed record RunStartedData(Guid RunId, Guid ArtifactId, int Attempt);

/// <summary><c>run.completed</c>: a run finished with an output (read it with <c>GET /runs/{id}</c>).</summary>
/// <param name="RunId">The run.</param>
/// <param name="ArtifactId">The artifact that ran.</param>
public sealed record RunCompletedData(Guid RunId, Guid ArtifactId);

/// <summary><c>run.failed</c> and <c>run.cancelled</c>: a run ended without an output.</summary>
/// <param name="RunId">The run.</param>
/// <param name="ArtifactId">The artifact that ran.</param>
/// <param name="Code">The error's stable code (e.g. <c>upstream_error</c>, <c>run_cancelled</c>); details with <c>GET /runs/{id}</c>.</param>
/// <param name="Status">The error's HTTP-style status; null when none.</param>
public sealed record RunEndedData(Guid RunId, Guid ArtifactId, string? Code, int? Status);

/// <summary><c>approval.requested</c>: a run waits for a person's approval before it executes.</summary>
/// <param name="ApprovalId">The approval (<c>POST /approvals/{id}/approve</c> or <c>/reject</c>).</param>
/// <param name="RunId">The run that waits.</param>
/// <param name="ArtifactId">The artifact the run would execute.</param>
/// <param name="ExpiresAt">When the approval expires if nobody decides.</param>
public sealed record ApprovalRequestedData(Guid ApprovalId, Guid RunId, Guid ArtifactId, DateTimeOffset ExpiresAt);

/// <summary><c>approval.decided</c>: an approval was approved, rejected (the run ends cancelled) or expired (the run ends expired).</summary>
/// <param name="ApprovalId">The approval.</param>
/// <param name="RunId">The run.</param>
/// <param name="ArtifactId">The artifact the run executes.</param>
/// <param name="Decision"><c>approved</c>, <c>rejected</c> or <c>expired</c>.</param>
/// <param name="Note">The decider's note; null when none.</param>
public sealed record ApprovalDecidedData(Guid ApprovalId, Guid RunId, Guid ArtifactId, string Decision, string? Note);

/// <summary><c>grant.issued</c>: a grant gave (or denied) permissions on a resource.</summary>
/// <param name="GrantId">The grant.</param>
/// <param name="ResourceId">The artifact, workspace or collection it is on.</param>
/// <param name="GranteeType">Who it is for.</param>
/// <param name="GranteeId">The user, API key, group or server; null for an unclaimed invite.</param>
/// <param name="Permissions">The permissions it gives or denies.</param>
/// <param name="Effect"><c>allow</c> or <c>deny</c>.</param>
/// <param name="ExpiresAt">When it stops applying; null for never.</param>
/// <param name="ClaimedFrom">The invite this grant was claimed from; null otherwise.</param>
public sealed record GrantIssuedData(Guid GrantId, Guid ResourceId, GranteeType GranteeType, Guid? GranteeId, IReadOnlyList<string> Permissions,
    GrantEffect Effect, DateTimeOffset? ExpiresAt, Guid? ClaimedFrom);

/// <summary><c>grant.revoked</c>: a grant no longer applies.</summary>
/// <param name="GrantId">The grant.</param>
/// <param name="ResourceId">The resource it was on.</param>
public sealed record GrantRevokedData(Guid GrantId, Guid ResourceId);

/// <summary><c>invite.claimed</c>: a user claimed an invite and received a grant of their own.</summary>
/// <param name="GrantId">The invite.</param>
/// <param name="ResourceId">The resource it is on.</param>
/// <param name="UserId">The user who claimed it.</param>
/// <param name="UserGrantId">The grant the user received.</param>
public sealed record InviteClaimedData(Guid GrantId, Guid ResourceId, Guid UserId, Guid UserGrantId);

/// <summary><c>api_key.issued</c>: a user issued an API key (its secret is never in any event).</summary>
/// <param name="ApiKeyId">The key.</param>
/// <param name="OwnerId">The user who owns it.</param>
/// <param name="Name">Its name.</param>
/// <param name="Scopes">Its scopes.</param>
/// <param name="ResourceIds">The resources it is limited to; null for any.</param>
/// <param name="ExpiresAt">When it expires; null for never.</param>
public sealed record ApiKeyIssuedData(Guid ApiKeyId, Guid OwnerId, string Name, IReadOnlyList<string> Scopes, IReadOnlyList<Guid>? ResourceIds,
    DateTimeOffset? ExpiresAt);

/// <summary><c>api_key.renamed</c>.</summary>
/// <param name="ApiKeyId">The key.</param>
/// <param name="Name">Its new name.</param>
public sealed record ApiKeyRenamedData(Guid ApiKeyId, string Name);

/// <summary><c>api_key.rotated</c> and <c>server_credential.rotated</c>: a new secret was issued; the previous one works until <c>previousSecretValidUntil</c>.</summary>
/// <param name="CredentialId">The API key or server credential.</param>
/// <param name="PreviousSecretValidUntil">When the previous secret stops working.</param>
public sealed record CredentialRotatedData(Guid CredentialId, DateTimeOffset PreviousSecretValidUntil);

/// <summary><c>api_key.revoked</c> and <c>server_credential.revoked</c>.</summary>
/// <param name="CredentialId">The API key or server credential.</param>
public sealed record CredentialRevokedData(Guid CredentialId);

/// <summary><c>server_credential.issued</c>: a platform admin issued a server credential (its secret is never in any event).</summary>
/// <param name="ServerId">The credential (its OAuth client id).</param>
/// <param name="Name">Its name.</param>
/// <param name="Scopes">Its scopes.</param>
public sealed record ServerCredentialIssuedData(Guid ServerId, string Name, IReadOnlyList<string> Scopes);

/// <summary><c>secret.created</c>: a stored secret was created (its value is never in any event).</summary>
/// <param name="SecretId">The secret.</param>
/// <param name="OwnerId">The user who owns it.</param>
/// <param name="Name">Its name.</param>
/// <param name="Description">Its description; null when none.</param>
public sealed record SecretCreatedData(Guid SecretId, Guid OwnerId, string Name, string? Description);

/// <summary><c>secret.deleted</c>.</summary>
/// <param name="SecretId">The secret.</param>
public sealed record SecretDeletedData(Guid SecretId);

/// <summary><c>platform.settings_changed</c>: a platform admin changed settings; each member is the new value, null when that setting was not changed.</summary>
/// <param name="Changed">The settings that changed.</param>
/// <param name="RegistrationEnabled">Whether anyone may register.</param>
/// <param name="RateLimitPermitLimit">Requests per window per principal.</param>
/// <param name="RateLimitWindowSeconds">The rate-limit window.</param>
/// <param name="TokenPermitLimit">Token requests per window.</param>
/// <param name="AccessTokenLifetimeMinutes">Access-token lifetime.</param>
/// <param name="RefreshTokenLifetimeDays">Refresh-token lifetime.</param>
/// <param name="EgressAllowedHosts">Hosts runs may reach although private.</param>
public sealed record PlatformSettingsChangedData(IReadOnlyList<string> Changed, bool? RegistrationEnabled, int? RateLimitPermitLimit,
    int? RateLimitWindowSeconds, int? TokenPermitLimit, int? AccessTokenLifetimeMinutes, int? RefreshTokenLifetimeDays,
    IReadOnlyList<string>? EgressAllowedHosts);

/// <summary><c>platform.admin_granted</c> and <c>platform.admin_revoked</c>.</summary>
/// <param name="UserId">The user who became, or stopped being, a platform admin.</param>
public sealed record PlatformAdminData(Guid UserId);
