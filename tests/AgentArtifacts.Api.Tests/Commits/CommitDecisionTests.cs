using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Commits;
using AgentArtifacts.Api.Infrastructure;
using JasperFx.Events;
using Microsoft.AspNetCore.Http;
using Shouldly;
using Xunit;

namespace AgentArtifacts.Api.Tests.Commits;

/// <summary>Decision tests for the commit rules: fold events into artifacts, call the pure rules, compare. No database.</summary>
public sealed class CommitDecisionTests
{
    private static readonly Guid Author = Guid.CreateVersion7();
    private static readonly Caller Ada = new(Author, "user", false);
    private static readonly Guid Docs = Guid.CreateVersion7();

    private static Artifact Fold(params object[] events)
    {
        Artifact? artifact = null;
        var version = 0;
        foreach (var data in events)
        {
            var e = (IEvent)Activator.CreateInstance(typeof(Event<>).MakeGenericType(data.GetType()), data)!;
            (e.Version, e.Timestamp, e.UserName) = (++version, DateTimeOffset.UtcNow, Author.ToString());
            artifact = data switch
            {
                ArtifactCreated => Artifact.Create((IEvent<ArtifactCreated>)e),
                ArtifactCheckedOut => Artifact.Create((IEvent<ArtifactCheckedOut>)e),
                _ => Apply(artifact!, e),
            };
        }
        artifact!.Version = version;
        return artifact;
    }

    private static Artifact Apply(Artifact artifact, IEvent e)
    {
        ((dynamic)artifact).Apply((dynamic)e);
        return artifact;
    }

    private static Artifact Workspace(params Guid[] targets)
    {
        var id = Guid.CreateVersion7();
        return Fold(new ArtifactCreated(id, null, "application/vnd.agience.workspace+json", "W", null, [], [], null),
            new WorkspaceTargetsChanged(id, targets));
    }

    private static ArtifactCreated Created(Guid id, Guid workspace, string title = "Notes") =>
        new(id, workspace, "text/markdown", title, null, [], [], "body");

    private static ArtifactCommitted Committed(Artifact draft, int revision, ChangeKind kind, Guid? stream = null) =>
        new(stream ?? draft.LineId, draft.LineId, draft.Id, Guid.CreateVersion7(), revision, kind, draft.ContainerId!.Value, [Docs],
            draft.ContentType, draft.Title, draft.Description, draft.Tags, draft.Context, draft.Content);

    [Fact]
    public void a_new_draft_is_added_an_edit_after_a_commit_is_modified_and_an_archive_after_a_commit_is_archived()
    {
        var workspace = Workspace(Docs);
        var id = Guid.CreateVersion7();
        var draft = Fold(Created(id, workspace.Id));
        draft.PendingChange.ShouldBe(ChangeKind.Added);

        var committed = Fold(Created(id, workspace.Id), Committed(draft, 1, ChangeKind.Added));
        (committed.State, committed.Revision, committed.BaseRevision, committed.PendingChange).ShouldBe((ArtifactState.Committed, 1, 1, (ChangeKind?)null));

        var edited = Fold(Created(id, workspace.Id), Committed(draft, 1, ChangeKind.Added), new ArtifactRetitled(id, "New"));
        (edited.State, edited.BaseRevision, edited.PendingChange).ShouldBe((ArtifactState.Draft, 1, (ChangeKind?)ChangeKind.Modified));

        var archived = Fold(Created(id, workspace.Id), Committed(draft, 1, ChangeKind.Added), new ArtifactArchived(id));
        archived.PendingChange.ShouldBe(ChangeKind.Archived);
    }

    [Fact]
    public void an_archived_never_committed_draft_has_nothing_to_publish_and_restoring_a_committed_archive_is_a_change()
    {
        var workspace = Workspace();
        var id = Guid.CreateVersion7();
        Fold(Created(id, workspace.Id), new ArtifactArchived(id)).PendingChange.ShouldBeNull();

        var draft = Fold(Created(id, workspace.Id));
        var archivedRevision = Fold(Created(id, workspace.Id), Committed(draft, 1, ChangeKind.Added), new ArtifactArchived(id));
        var afterCommit = Fold(Created(id, workspace.Id), Committed(draft, 1, ChangeKind.Added), new ArtifactArchived(id),
            Committed(archivedRevision, 2, ChangeKind.Archived));
        (afterCommit.State, afterCommit.PendingChange).ShouldBe((ArtifactState.Archived, (ChangeKind?)null));

        var restored = Fold(Created(id, workspace.Id), Committed(draft, 1, ChangeKind.Added), new ArtifactArchived(id),
            Committed(archivedRevision, 2, ChangeKind.Archived), new ArtifactRestored(id));
        (restored.State, restored.PendingChange).ShouldBe((ArtifactState.Draft, (ChangeKind?)ChangeKind.Modified));
    }

    [Fact]
    public void a_revision_from_a_copy_moves_a_clean_original_forward_but_leaves_an_edited_one_behind()
    {
        var workspace = Workspace(Docs);
        var id = Guid.CreateVersion7();
        var draft = Fold(Created(id, workspace.Id));
        var copy = Fold(new ArtifactCheckedOut(Guid.CreateVersion7(), id, Guid.CreateVersion7(), 1, "text/markdown", "Notes", null, [], [], "body"),
            new ArtifactContentRevised(Guid.Empty, "from the copy"));
        var fromCopy = Committed(copy, 2, ChangeKind.Modified);

        var clean = Fold(Created(id, workspace.Id), Committed(draft, 1, ChangeKind.Added), fromCopy);
        (clean.Revision, clean.BaseRevision, clean.Content, clean.State).ShouldBe((2, 2, "from the copy", ArtifactState.Committed));

        var edited = Fold(Created(id, workspace.Id), Committed(draft, 1, ChangeKind.Added), new ArtifactContentRevised(id, "mine"), fromCopy);
        (edited.Revision, edited.BaseRevision, edited.Content, edited.State).ShouldBe((2, 1, "mine", ArtifactState.Draft));
    }

    [Fact]
    public void a_plan_conflicts_when_the_line_moved_past_the_drafts_base_and_when_one_artifact_is_drafted_twice()
    {
        var workspace = Workspace(Docs);
        var id = Guid.CreateVersion7();
        var original = Fold(Created(id, workspace.Id), Committed(Fold(Created(id, workspace.Id)), 1, ChangeKind.Added),
            new ArtifactContentRevised(id, "edit"));
        var behind = new CommitPlan(workspace, [original], new Dictionary<Guid, Artifact> { [id] = original });
        behind.Conflicts().ShouldBeEmpty();

        original.Revision = 2;  // a copy elsewhere committed revision 2
        var conflict = behind.Conflicts().Single();
        (conflict.ArtifactId, conflict.DraftId, conflict.Reason).ShouldBe((id, id, "revised_elsewhere"));

        var copy = Fold(new ArtifactCheckedOut(Guid.CreateVersion7(), id, workspace.Id, 2, "text/markdown", "Notes", null, [], [], "body"),
            new ArtifactRetitled(Guid.Empty, "Copy"));
        var twice = new CommitPlan(workspace, [original, copy], new Dictionary<Guid, Artifact> { [id] = original });
        twice.Conflicts().Select(c => c.Reason).Distinct().ShouldBe(["drafted_twice"]);
    }

    [Fact]
    public void deciding_a_commit_appends_a_revision_per_line_an_echo_per_copy_and_records_the_commit()
    {
        var workspace = Workspace(Docs);
        var lineId = Guid.CreateVersion7();
        var fresh = Fold(Created(Guid.CreateVersion7(), workspace.Id, "Fresh"));
        var line = Fold(Created(lineId, workspace.Id), Committed(Fold(Created(lineId, workspace.Id)), 1, ChangeKind.Added));
        var copy = Fold(new ArtifactCheckedOut(Guid.CreateVersion7(), lineId, workspace.Id, 1, "text/markdown", "Notes", null, [], [], "body"),
            new ArtifactRetitled(Guid.Empty, "Edited copy"));
        var plan = new CommitPlan(workspace, [fresh, copy], new Dictionary<Guid, Artifact> { [fresh.Id] = fresh, [lineId] = line });
        var commitId = Guid.CreateVersion7();

        var (appends, record) = plan.Decide(commitId, "  Ship it ", Ada);

        appends.Select(a => (a.StreamId, a.ExpectedVersion)).ShouldBe([(fresh.Id, 2L), (lineId, 3L), (copy.Id, 3L)]);
        appends.Select(a => ((ArtifactCommitted)a.Event).Revision).ShouldBe([1, 2, 2]);
        var echo = (ArtifactCommitted)appends[2].Event;
        (echo.ArtifactId, echo.LineId, echo.SourceId, echo.Title, echo.Kind).ShouldBe((copy.Id, lineId, copy.Id, "Edited copy", ChangeKind.Modified));
        (record.CommitId, record.Message, record.AuthorId, record.CollectionIds.Single()).ShouldBe((commitId, "Ship it", Author, Docs));
        record.Items.Select(i => (i.ArtifactId, i.DraftId, i.Kind, i.FromRevision, i.ToRevision))
            .ShouldBe([(fresh.Id, fresh.Id, ChangeKind.Added, 0, 1), (lineId, copy.Id, ChangeKind.Modified, 1, 2)]);
    }

    [Fact]
    public void a_commit_through_an_api_key_records_the_owner_then_the_key()
    {
        var key = Guid.CreateVersion7();
        CommitPlan.ActorChain(Ada with { Kind = Caller.ApiKey, ApiKeyId = key })
            .ShouldBe([new CommitActor("user", Author), new CommitActor("apiKey", key)]);
        CommitPlan.ActorChain(Ada).ShouldBe([new CommitActor("user", Author)]);
    }

    [Fact]
    public void selecting_named_drafts_refuses_ids_that_are_not_drafts_here_and_an_empty_workspace_has_nothing_to_commit()
    {
        var workspace = Workspace();
        var draft = Fold(Created(Guid.CreateVersion7(), workspace.Id));
        var elsewhere = Fold(Created(Guid.CreateVersion7(), Guid.CreateVersion7()));

        CommitPlan.Select(workspace, [draft, elsewhere], null).Drafts.ShouldBe([draft]);
        Code(CommitPlan.Select(workspace, [draft, elsewhere], [draft.Id, elsewhere.Id]).Problem).ShouldBe("not_a_draft");
        Code(CommitPlan.Select(workspace, [], null).Problem).ShouldBe("nothing_to_commit");
    }

    [Fact]
    public void revert_goes_back_to_the_base_revision_or_archives_a_draft_that_never_had_one()
    {
        var workspace = Workspace();
        var draft = Fold(Created(Guid.CreateVersion7(), workspace.Id));
        RevertWorkspaceEndpoint.Decide(draft, null).ShouldBe(new ArtifactArchived(draft.Id));

        var revision = new ArtifactRevision { ArtifactId = draft.Id, Revision = 3, Kind = ChangeKind.Modified, Title = "Old", Content = "old" };
        var reverted = RevertWorkspaceEndpoint.Decide(draft, revision).ShouldBeOfType<ArtifactReverted>();
        (reverted.Revision, reverted.Archived, reverted.Title, reverted.Content).ShouldBe((3, false, "Old", "old"));
    }

    private static string? Code(IResult? problem) =>
        (problem as Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult)?.ProblemDetails.Extensions["code"] as string;
}
