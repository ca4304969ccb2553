import type { OpenApiDocument, OpenApiOperation } from './openapi';

/**
 * SPEC §8's human-readable docs page: the OpenAPI document rendered on the server as one
 * self-contained HTML page (no script, no CDN, no external asset: it works offline).
 */

type Schema = Record<string, unknown>;

const escape = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function resolve(schema: Schema, doc: OpenApiDocument): Schema {
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    return doc.components.schemas[ref.slice('#/components/schemas/'.length)] ?? schema;
  }
  return schema;
}

/** A one-line description of a schema's type and constraints. */
function typeOf(schema: Schema): string {
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(' | ')}`;
  const variants = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (variants) return variants.map(typeOf).join(' or ');
  let type = typeof schema.type === 'string' ? schema.type : 'any';
  if (type === 'array') type = `array of ${typeOf((schema.items ?? {}) as Schema)}`;
  const facts: string[] = [];
  for (const key of ['format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'default'] as const) {
    if (schema[key] !== undefined) facts.push(`${key} ${key === 'pattern' ? String(schema[key]) : JSON.stringify(schema[key])}`);
  }
  if (schema.exclusiveMinimum === true) facts.push('exclusive minimum');
  if (schema.nullable === true) facts.push('nullable');
  return facts.length ? `${type} (${facts.join(', ')})` : type;
}

function renderSchema(input: Schema, doc: OpenApiDocument, depth = 0): string {
  const schema = resolve(input, doc);
  if (depth > 6) return '<span class="type">…</span>';
  const variants = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (variants) {
    return `<div class="variants">${variants.map((v, i) => `<div><span class="type">variant ${i + 1}</span>${renderSchema(v, doc, depth + 1)}</div>`).join('')}</div>`;
  }
  if (schema.type === 'array' && schema.items && (resolve(schema.items as Schema, doc).properties !== undefined)) {
    return `<span class="type">array of</span>${renderSchema(schema.items as Schema, doc, depth + 1)}`;
  }
  const properties = schema.properties as Record<string, Schema> | undefined;
  if (!properties) return `<span class="type">${escape(typeOf(schema))}</span>`;
  const required = new Set((schema.required ?? []) as string[]);
  const rows = Object.entries(properties).map(([name, property]) => {
    const resolved = resolve(property, doc);
    const nested = resolved.properties || resolved.oneOf || resolved.anyOf || (resolved.type === 'array' && resolve((resolved.items ?? {}) as Schema, doc).properties);
    return `<li><code>${escape(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''} <span class="type">${escape(nested ? (resolved.type ?? 'object') : typeOf(resolved))}${resolved.nullable ? ', nullable' : ''}</span>${
      resolved.description ? ` — ${escape(resolved.description)}` : ''
    }${nested ? renderSchema(resolved, doc, depth + 1) : ''}</li>`;
  });
  const extra = schema.additionalProperties === false ? '<li class="note">no other fields</li>' : '';
  return `<ul class="schema">${rows.join('')}${extra}</ul>`;
}

function renderOperation(method: string, path: string, op: OpenApiOperation, doc: OpenApiDocument): string {
  const id = op.operationId;
  const params = op.parameters.length
    ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th></tr>${op.parameters
        .map((p) => `<tr><td><code>${escape(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : 'no'}</td><td>${escape(typeOf(p.schema))}${p.description ? `<div class="note">${escape(p.description)}</div>` : ''}</td></tr>`)
        .join('')}</table>`
    : '';
  const body = op.requestBody
    ? `<h4>Request body</h4>${Object.entries(op.requestBody.content).map(([type, c]) => `<div class="note">${escape(type)}</div>${renderSchema(c.schema, doc)}`).join('')}`
    : '';
  const responses = Object.entries(op.responses)
    .map(([status, r]) => {
      const content = Object.entries(r.content ?? {});
      const success = status.startsWith('2');
      const schemas = content.map(([type, c]) => `<div class="note">${escape(type)}</div>${renderSchema(c.schema, doc)}`).join('');
      return `<details${success ? ' open' : ''}><summary><span class="status s${status[0]}">${escape(status)}</span> ${escape(r.description)}</summary>${schemas}</details>`;
    })
    .join('');
  const access = op.security.length === 0 ? '<span class="public">public: no token</span>' : `roles: ${op['x-roles'].map((r) => `<span class="role">${escape(r)}</span>`).join(' ')}`;
  return `<section class="op" id="${escape(id)}"><h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h3>
<p>${escape(op.summary)}</p>${op.description ? `<p class="note">${escape(op.description)}</p>` : ''}<p>${access}</p>${params}${body}<h4>Responses</h4>${responses}</section>`;
}

export function renderDocsPage(doc: OpenApiDocument, openApiUrl: string): string {
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const byTag = new Map<string, typeof operations>();
  for (const entry of operations) {
    const tag = entry.op.tags[0] ?? 'other';
    byTag.set(tag, [...(byTag.get(tag) ?? []), entry]);
  }
  const toc = [...byTag]
    .map(([tag, ops]) => `<li>${escape(tag)}<ul>${ops.map(({ path, method, op }) => `<li><a href="#${escape(op.operationId)}"><span class="method ${method}">${method.toUpperCase()}</span> ${escape(path)}</a></li>`).join('')}</ul></li>`)
    .join('');
  const sections = [...byTag].map(([tag, ops]) => `<h2>${escape(tag)}</h2>${ops.map(({ path, method, op }) => renderOperation(method, path, op, doc)).join('')}`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.info.title)} — API</title>
<style>
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#fafbfc}
header{background:#1d2330;color:#fff;padding:16px 24px}header a{color:#9cc3ff}
main{display:flex;gap:24px;padding:0 24px}nav{flex:0 0 330px;font-size:13px;position:sticky;top:0;max-height:100vh;overflow:auto;padding-top:12px}
nav ul{list-style:none;padding-left:10px;margin:4px 0}nav a{text-decoration:none;color:#1d2330}
article{flex:1;min-width:0}.op{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:4px 16px 12px;margin:14px 0}
.method{display:inline-block;min-width:46px;text-align:center;font:600 12px monospace;border-radius:3px;padding:1px 4px;color:#fff;background:#555}
.method.get{background:#2f7d32}.method.post{background:#1f5fbf}.method.put,.method.patch{background:#a86400}.method.delete{background:#b3261e}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #dde2ea;padding:3px 8px;text-align:left;vertical-align:top}
ul.schema{margin:2px 0;padding-left:18px;font-size:13px}.type{color:#5b6475;font-size:12px}.req{color:#b3261e;font-size:11px}
.note{color:#5b6475;font-size:12px}.status{font:600 12px monospace;padding:0 4px;border-radius:3px;background:#eee}.status.s2{background:#d8f0da}.status.s4{background:#fde2e0}
.role{font:12px monospace;background:#eef2ff;border-radius:3px;padding:0 4px}.public{font-size:12px;color:#2f7d32}details{margin:2px 0}
</style></head><body>
<header><h1 style="margin:0;font-size:20px">${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1>
<div>${escape(doc.info.description)}</div>
<div>Authentication: <code>Authorization: Bearer &lt;token&gt;</code>; each token has a role (backend, ops, finance). Machine-readable: <a href="${escape(openApiUrl)}">${escape(openApiUrl)}</a> (OpenAPI ${escape(doc.openapi)}).</div></header>
<main><nav><ul>${toc}</ul></nav><article>${sections}</article></main></body></html>`;
}
