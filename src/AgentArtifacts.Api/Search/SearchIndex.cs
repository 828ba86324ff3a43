using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using AgentArtifacts.Api.Artifacts;
using AgentArtifacts.Api.Types;
using Weasel.Postgresql.Tables;

namespace AgentArtifacts.Api.Search;

/// <summary>
/// The search table, <c>agentartifacts.search_artifacts</c>, in the shape <see cref="SearchSql"/> queries: one row per place an
/// artifact can be read, keyed by (artifact, container). A head row (<c>member</c> false) is the artifact's head in its
/// workspace, draft or committed; a member row (<c>member</c> true) is the revision last published into a collection, under
/// the artifact's line id. Containers themselves are not indexed. Created and migrated by Marten.
/// </summary>
public sealed class SearchTable : IConfigureMarten
{
    public const string Name = "search_artifacts";

    public void Configure(IServiceProvider services, StoreOptions options)
    {
        var language = services.GetRequiredService<SearchLanguage>();
        var table = new Table($"{options.DatabaseSchemaName}.{Name}");
        table.AddColumn<Guid>("id").AsPrimaryKey();
        table.AddColumn<Guid>("container_id").AsPrimaryKey();
        table.AddColumn<bool>("member").NotNull().DefaultValueByExpression("false");
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
        options.Projections.Add(new SearchProjection(options.DatabaseSchemaName, language), JasperFx.Events.Projections.ProjectionLifecycle.Async);
    }
}

/// <summary>
/// Keeps the search table. Head rows: on any event that changes what search shows, the artifact's head row is recomputed in
/// SQL from its inline snapshot (<c>mt_doc_artifact</c>, written in the same transaction as the event, so always at or ahead
/// of the event this async projection is handling). Recomputing from the head instead of applying each event makes the row
/// independent of event order and batch boundaries, and a rebuild converges on the current heads. Member rows: each revision
/// event on an artifact's own line replaces its row in every collection the commit published into, from the event itself
/// (a revision never changes, and events reach this projection in order, so the last one published into a collection wins).
/// </summary>
public sealed partial class SearchProjection(string schema, SearchLanguage language) : EventProjection
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
    public void Project(IEvent<ArtifactCommitted> e, IDocumentOperations ops)
    {
        Refresh(e, ops);
        var c = e.Data;
        if (c.ArtifactId != c.LineId || c.CollectionIds.Count == 0) return;  // a checked-out copy's echo, or published nowhere
        ops.QueueSqlCommand(publish, c.LineId, c.CollectionIds.ToArray(), c.ContentType, c.Title, c.Description ?? (object)DBNull.Value,
            c.Tags.ToArray(), SearchSql.StateValue(c.Kind == ChangeKind.Archived ? ArtifactState.Archived : ArtifactState.Committed),
            c.Revision, e.Timestamp, c.Content ?? (object)DBNull.Value, c.Context.ToJsonString());
    }
    public void Project(IEvent<ArtifactReverted> e, IDocumentOperations ops) => Refresh(e, ops);

    private void Refresh(IEvent e, IDocumentOperations ops) => ops.QueueSqlCommand(upsert, e.StreamId);

    private readonly string upsert = UpsertSql(schema, language.Config);
    private readonly string publish = PublishSql(schema, language.Config);

    // The head row from the snapshot's JSON (PascalCase; enums as numbers, or names if that setting ever changes). Containers
    // are skipped; a head that is gone (or became a container) loses its row, and a head that moved loses the old one.
    private static string UpsertSql(string schema, string config) => $$"""
        with target as (select ?::uuid as id),
        head as (
          select a.id, a.data from {{schema}}.mt_doc_artifact a join target t on a.id = t.id
          where a.data->>'ContentType' not in ('{{TypeRegistry.Workspace}}', '{{TypeRegistry.Collection}}')
            and a.data->>'ContainerId' is not null
        ),
        computed as (
          select id, (data->>'ContainerId')::uuid as container_id, lower(data->>'ContentType') as content_type,
                 coalesce(data->>'Title', '') as title, data->>'Description' as description,
                 array(select jsonb_array_elements_text(coalesce(data->'Tags', '[]'::jsonb))) as tags,
                 {{StateCase("data->>'State'")}} as state,
                 coalesce((data->>'Revision')::int, 0) as revision,
                 (data->>'CreatedAt')::timestamptz as created_at, (data->>'UpdatedAt')::timestamptz as updated_at,
                 data->>'Content' as content, {{ContextText("data->'Context'")}} as context_text
          from head
        ),
        gone as (
          delete from {{schema}}.{{SearchTable.Name}} s using target t
          where s.id = t.id and not s.member and not exists (select 1 from computed c where c.container_id = s.container_id)
        )
        {{Insert(schema, config, member: false)}}
        """;

    // The member rows of one revision event: ? = line id, collection ids, content type, title, description, tags, state,
    // revision, the event's time, content, context (JSON). created_at is the artifact's, when its snapshot is still there.
    private static string PublishSql(string schema, string config) => $$"""
        with revision as (
          select ?::uuid as id, ?::uuid[] as collection_ids, lower(?::text) as content_type, ?::text as title, ?::text as description,
                 ?::text[] as tags, ?::text as state, ?::int as revision, ?::timestamptz as updated_at, ?::text as content, ?::jsonb as context
        ),
        computed as (
          select r.id, c.container_id, r.content_type, r.title, r.description, r.tags, r.state, r.revision,
                 coalesce((select (a.data->>'CreatedAt')::timestamptz from {{schema}}.mt_doc_artifact a where a.id = r.id), r.updated_at) as created_at,
                 r.updated_at, r.content, {{ContextText("r.context")}} as context_text
          from revision r cross join unnest(r.collection_ids) as c(container_id)
        )
        {{Insert(schema, config, member: true)}}
        """;

    // Context text is its string values, at any depth.
    private static string ContextText(string json) =>
        $"(select string_agg(v #>> '{{}}', ' ') from jsonb_path_query(coalesce({json}, '{{}}'::jsonb), 'strict $.**') v where jsonb_typeof(v) = 'string')";

    // Inserts the rows of the CTE "computed", or replaces them.
    private static string Insert(string schema, string config, bool member) => $"""
        insert into {schema}.{SearchTable.Name}
          (id, container_id, member, content_type, title, description, tags, state, revision, created_at, updated_at, search_vector)
        select id, container_id, {(member ? "true" : "false")}, content_type, title, description, tags, state, revision, created_at, updated_at,
               {SearchSql.Vector("title", "array_to_string(tags, ' ') || ' ' || coalesce(description, '')", $"left(coalesce(content, '') || ' ' || coalesce(context_text, ''), {MaxIndexedText})", config)}
        from computed
        on conflict (id, container_id) do update set member = excluded.member, content_type = excluded.content_type,
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
