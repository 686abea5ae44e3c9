import type { OutgoingMail } from "../../domain/lib/ports.js";
import type { Catalogue } from "./catalogue.js";
import { en } from "./en.js";
import { ro } from "./ro.js";

export interface RenderedContent {
  subject: string;
  text: string;
  html: string;
}

export interface Brand {
  productName: string;
  appUrl: string;
}

/** Romanian for `ro`, `ro-RO`, `ro_MD`...; English for everything else. */
export const catalogueFor = (locale: string | null): Catalogue => (/^ro([-_]|$)/i.test(locale ?? "") ? ro : en);

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Plain text and HTML of one mail, in the user's language, from the same sentences. */
export function renderMail(mail: OutgoingMail, brand: Brand): RenderedContent {
  const c = catalogueFor(mail.locale);
  const when =
    new Intl.DateTimeFormat(c.locale, { dateStyle: "long", timeStyle: "short", timeZone: "UTC" }).format(
      mail.occurredAt,
    ) + " UTC";
  const appUrl = brand.appUrl.replace(/\/+$/, "");
  const content = c.mails[mail.kind]({
    product: brand.productName,
    appUrl,
    when,
    ip: mail.ip ?? null,
    linkTtlHours: mail.linkTtlHours ?? 0,
    code: mail.code ?? "",
    codeTtlMinutes: mail.codeTtlMinutes ?? 0,
    provider: mail.provider ?? "",
  });
  const greeting = c.greeting(mail.firstName);
  const signature = c.signature(brand.productName);
  const action = content.action && mail.link ? { label: content.action, href: mail.link } : undefined;

  const text =
    [greeting, ...content.paragraphs, ...(action ? [`${action.label}:\n${action.href}`] : []), `— ${signature}`].join(
      "\n\n",
    ) + "\n";

  const p = (s: string) => `<p style="margin:0 0 16px">${escapeHtml(s)}</p>`;
  const button = action
    ? `<p style="margin:24px 0"><a href="${escapeHtml(action.href)}" style="background:#1f6feb;color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block">${escapeHtml(action.label)}</a></p>` +
      `<p style="margin:0 0 16px;font-size:13px;color:#555">${escapeHtml(c.linkFallback)}<br><a href="${escapeHtml(action.href)}">${escapeHtml(action.href)}</a></p>`
    : "";
  const html =
    `<!doctype html><html lang="${c.locale.slice(0, 2)}"><head><meta charset="utf-8"><title>${escapeHtml(content.subject)}</title></head>` +
    `<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1b1f24;max-width:560px;margin:0 auto;padding:24px">` +
    p(greeting) +
    content.paragraphs.map(p).join("") +
    button +
    `<p style="margin:24px 0 0;color:#555">— ${escapeHtml(signature)}</p></body></html>`;

  return { subject: content.subject, text, html };
}
