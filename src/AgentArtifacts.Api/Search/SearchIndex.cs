using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;
using Weasel.Postgresql.Tables;

namespace AgentArtifacts.Api.Search;

/// <summary>
/// The search table, <c>agentartifacts.search_artifacts</c>: one row per artifact head (drafts and committed heads in
/// workspaces; containers are not indexed), in the shape <see cref="SearchSql"/> queries. Created and migrated by Marten.
/// </summary>
public sealed class SearchTable : IConfigureMarten
{
    public const string Name = "search_artifacts";

    public void Configure(IServiceProvider services, StoreOptions options)
    {
        var table = new Table($"{options.DatabaseSchemaName}.{Name}");
        table.AddColumn<Guid>("id").AsPrimaryKey();
        table.AddColumn<Guid>("container_id");
        table.AddColumn<string>("content_type").NotNull();
        table.AddColumn<string>("title").NotNull();
        table.AddColumn<string>("description");
        table.AddColumn("tags", "text[]").NotNull();
        table.AddColumn<string>("state").NotNull();
        table.AddColumn<int>("revision").NotNull();
        table.AddColumn<DateTimeOffset>("created_at").NotNull();
        table.AddColumn<DateTimeOffset>("updated_at").NotNull();
        table.AddColumn("search_vector", "tsvector").NotNull();
        table.Indexes.Add(new IndexDefinition($"ix_{Name}_vector") { Columns = ["search_vector"], Method = IndexMethod.gin });
        table.Indexes.Add(new IndexDefinition($"ix_{Name}_tags") { Columns = ["tags"], Method = IndexMethod.gin });
        table.Indexes.Add(new IndexDefinition($"ix_{Name}_container") { Columns = ["container_id"] });
        table.Indexes.Add(new IndexDefinition($"ix_{Name}_created") { Columns = ["created_at"] });
        table.Indexes.Add(new IndexDefinition($"ix_{Name}_updated") { Columns = ["updated_at"] });
        options.Storage.ExtendedSchemaObjects.Add(table);
        options.Projections.Add(new SearchProjection(options.DatabaseSchemaName), JasperFx.Events.Projections.ProjectionLifecycle.Async);
    }
}

/// <summary>
/// Keeps the search table: on any event that changes what search shows, the artifact's row is recomputed in SQL from its
/// inline snapshot (<c>mt_doc_artifact</c>, written in the same transaction as the event, so always at or ahead of the
/// event this async projection is handling). Recomputing from the head instead of applying each event makes the row
/// independent of event order and batch boundaries, and a rebuild converges on the current heads.
/// </summary>
public sealed partial class SearchProjection(string schema) : EventProjection
{
    public void Project(IEvent<ArtifactCreated> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactCheckedOut> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactRetitled> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactDescribed> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactRetagged> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactContextChanged> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactContentRevised> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactArchived> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactRestored> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactMoved> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactCommitted> e, IDocumentOperations ops) => Refresh(e, ops);
    public void Project(IEvent<ArtifactReverted> e, IDocumentOperations ops) => Refresh(e, ops);

    private void Refresh(IEvent e, IDocumentOperations ops) => ops.QueueSqlCommand(upsert, e.StreamId);

    private readonly string upsert = UpsertSql(schema);

    // The row from the snapshot's JSON (PascalCase; enums as numbers, or names if that setting ever changes). Context text
    // is its string values. Containers are skipped; a head that is gone (or became a container) loses its row.
    private static string UpsertSql(string schema) => $$"""
        with target as (select ?::uuid as id),
        head as (
          select a.id, a.data from {{schema}}.mt_doc_artifact a join target t on a.id = t.id
          where a.data->>'ContentType' not in ('{{TypeRegistry.Workspace}}', '{{TypeRegistry.Collection}}')
        ),
        computed as (
          select id, (data->>'ContainerId')::uuid as container_id, lower(data->>'ContentType') as content_type,
                 coalesce(data->>'Title', '') as title, data->>'Description' as description,
                 array(select jsonb_array_elements_text(coalesce(data->'Tags', '[]'::jsonb))) as tags,
                 {{StateCase("data->>'State'")}} as state,
                 coalesce((data->>'Revision')::int, 0) as revision,
                 (data->>'CreatedAt')::timestamptz as created_at, (data->>'UpdatedAt')::timestamptz as updated_at,
                 data->>'Content' as content,
                 (select string_agg(v #>> '{}', ' ') from jsonb_path_query(coalesce(data->'Context', '{}'::jsonb), 'strict $.**') v
                   where jsonb_typeof(v) = 'string') as context_text
          from head
        ),
        gone as (
          delete from {{schema}}.{{SearchTable.Name}} s using target t
          where s.id = t.id and not exists (select 1 from head)
        )
        insert into {{schema}}.{{SearchTable.Name}}
          (id, container_id, content_type, title, description, tags, state, revision, created_at, updated_at, search_vector)
        select id, container_id, content_type, title, description, tags, state, revision, created_at, updated_at,
               {{SearchSql.Vector("title", "array_to_string(tags, ' ') || ' ' || coalesce(description, '')", $"left(coalesce(content, '') || ' ' || coalesce(context_text, ''), {MaxIndexedText})")}}
        from computed
        on conflict (id) do update set container_id = excluded.container_id, content_type = excluded.content_type,
          title = excluded.title, description = excluded.description, tags = excluded.tags, state = excluded.state,
          revision = excluded.revision, created_at = excluded.created_at, updated_at = excluded.updated_at,
          search_vector = excluded.search_vector
        """;

    /// <summary>
    /// How much of the content and context text is indexed. A tsvector holds at most 1 MB and this one holds each word twice
    /// (stemmed and as written): about 1 MB of content of distinct words would fail the statement and stall the projection.
    /// </summary>
    public const int MaxIndexedText = 65_536;

    private static string StateCase(string json) =>
        "case " + json + string.Concat(Enum.GetValues<ArtifactState>().Select(s =>
            $" when '{(int)s}' then '{SearchSql.StateValue(s)}' when '{s}' then '{SearchSql.StateValue(s)}'")) + " end";
}
