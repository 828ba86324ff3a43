import createFetchClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/**
 * The media types the client's answers are typed from: JSON and problem+json. openapi-fetch parses every body as JSON
 * unless a call says otherwise (`parseAs: "stream"` with `Accept: text/event-stream` for an invoke's event stream), so
 * an operation that also declares a `text/event-stream` answer is still typed by its JSON one.
 */
export type JsonMediaType = `${string}/json` | `${string}/${string}+json`;

/** The typed client: `client.GET("/artifacts/{id}", { params: { path: { id } } })` and so on for every operation. */
export type AgentArtifactsClient = Client<paths, JsonMediaType>;

/** A schema of the API by name, e.g. `Schema<"ArtifactResponse">`. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

export interface AgentArtifactsClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** The service's root URL, e.g. `https://artifacts.example.com`. */
  baseUrl: string;
  /**
   * Sent as `Authorization: Bearer …`: an access token from POST /auth/token or an API key (`aa_…`).
   * A function is called before every request, so a caller can refresh the token it returns.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>);
}

/** Creates an openapi-fetch client typed by the API's OpenAPI document. */
export function createClient(options: AgentArtifactsClientOptions): AgentArtifactsClient {
  const { token, ...clientOptions } = options;
  const client = createFetchClient<paths, JsonMediaType>(clientOptions);
  if (token !== undefined) {
    client.use(bearer(token));
  }
  return client;
}

function bearer(token: NonNullable<AgentArtifactsClientOptions["token"]>): Middleware {
  return {
    async onRequest({ request }) {
      const value = typeof token === "string" ? token : await token();
      if (value !== undefined && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${value}`);
      }
      return request;
    },
  };
}
