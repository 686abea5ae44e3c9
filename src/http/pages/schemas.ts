/**
 * Schemas of the page routes. They are HTML, not the JSON API, so they stay out of
 * /openapi.json (`hide`); docs/browser.md describes them. Form fields are strings with an
 * upper bound; what is missing or wrong is reported next to the field by the handler.
 */
export const field = (maxLength = 4096) => ({ type: "string", maxLength }) as const;

export const csrfField = { _csrf: field(256) } as const;

export function pageSchema(
  operationId: string,
  summary: string,
  parts: { body?: Record<string, unknown>; example?: Record<string, string>; query?: Record<string, unknown> } = {},
) {
  return {
    operationId,
    tags: ["pages"],
    summary,
    security: [],
    hide: true,
    ...(parts.query ? { querystring: { type: "object", properties: parts.query } } : {}),
    ...(parts.body
      ? {
          body: {
            type: "object",
            properties: { ...csrfField, ...parts.body },
            examples: parts.example ? [parts.example] : [],
          },
        }
      : {}),
  };
}

export const redirectQuery = { redirect_to: field(2048), lang: field(8), notice: field(32) } as const;
