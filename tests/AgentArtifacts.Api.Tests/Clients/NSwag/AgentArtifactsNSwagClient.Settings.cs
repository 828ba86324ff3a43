namespace AgentArtifacts.Api.Tests.Clients.NSwag;

/// <summary>
/// The serializer setting NSwag leaves to its users, through the hook it generates for it (<c>UpdateJsonSerializerSettings</c>,
/// NSwag's documented way to configure a System.Text.Json client): leave unset properties out instead of writing them
/// as null. Every request schema of this API says a property that may be null may be left out, and in a merge-patch
/// (<c>PATCH /artifacts/{id}</c>) a null clears the field, so a client that writes unset properties as null would erase
/// what it did not mean to change.
/// </summary>
public partial class AgentArtifactsNSwagClient
{
    static partial void UpdateJsonSerializerSettings(System.Text.Json.JsonSerializerOptions settings) =>
        settings.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
}
