import type { Catalogue, TemplateVars } from "./catalogue.js";

const from = (v: TemplateVars) => (v.ip ? ` from the IP address ${v.ip}` : "");
const notYou = (v: TemplateVars) =>
  `If this was not you, reset your password at once at ${v.appUrl}/forgot-password and contact support.`;

export const en: Catalogue = {
  locale: "en-GB",
  greeting: (firstName) => (firstName ? `Hello ${firstName},` : "Hello,"),
  linkFallback: "If the button does not work, copy this address into your browser:",
  signature: (product) => `The ${product} team`,
  mails: {
    confirm_email: (v) => ({
      subject: `Confirm your email address for ${v.product}`,
      paragraphs: [
        `Thank you for signing up for ${v.product}. Please confirm your email address by opening the link below.`,
        `The link is valid for ${v.linkTtlHours} hours. If you did not create an account, you can ignore this email.`,
      ],
      action: "Confirm email address",
    }),
    reset_password: (v) => ({
      subject: `Reset your ${v.product} password`,
      paragraphs: [
        `Someone asked to reset the password of your ${v.product} account. To choose a new password, open the link below.`,
        `The link works once and is valid for ${v.linkTtlHours} hour${v.linkTtlHours === 1 ? "" : "s"}. If you did not ask for this, ignore this email: your password stays as it is.`,
      ],
      action: "Choose a new password",
    }),
    password_changed: (v) => ({
      subject: `Your ${v.product} password was changed`,
      paragraphs: [`The password of your ${v.product} account was changed on ${v.when}${from(v)}.`, notYou(v)],
    }),
    password_reset_done: (v) => ({
      subject: `Your ${v.product} password was reset`,
      paragraphs: [
        `The password of your ${v.product} account was reset on ${v.when}${from(v)}. Every device that was signed in has been signed out.`,
        notYou(v),
      ],
    }),
    mfa_enabled: (v) => ({
      subject: `Two-factor authentication is on for your ${v.product} account`,
      paragraphs: [
        `Two-factor authentication was turned on for your ${v.product} account on ${v.when}${from(v)}.`,
        notYou(v),
      ],
    }),
    mfa_disabled: (v) => ({
      subject: `Two-factor authentication is off for your ${v.product} account`,
      paragraphs: [
        `Two-factor authentication was turned off for your ${v.product} account on ${v.when}${from(v)}. Your account is now protected by your password alone.`,
        notYou(v),
      ],
    }),
    refresh_token_reuse: (v) => ({
      subject: `Suspicious sign-in activity on your ${v.product} account`,
      paragraphs: [
        `On ${v.when} a sign-in token of your ${v.product} account was presented again after it had already been used${from(v)}. This can mean it was copied from one of your devices, so we signed that device out.`,
        `If you do not recognise this, change your password and review your signed-in devices.`,
      ],
    }),
    account_unlock: (v) => ({
      subject: `Sign-ins to your ${v.product} account are being slowed down`,
      paragraphs: [
        `Someone tried many wrong passwords or codes on your ${v.product} account, the last time on ${v.when}${from(v)}. To protect it, sign-ins from new devices are paused for a while. Devices you already signed in from still work.`,
        `If that was you and you want to sign in from this device now, open the link below: it lifts the pause once and remembers the browser you open it in. It works once and is valid for ${v.linkTtlHours} hours.`,
        `If it was not you, your password is still safe as long as nobody knows it; if you reuse it anywhere, change it at ${v.appUrl}/forgot-password.`,
      ],
      action: "Unlock sign-in",
    }),
    email_otp_code: (v) => ({
      subject: `Your ${v.product} sign-in code`,
      paragraphs: [
        `Your sign-in code is ${v.code}. It is valid for ${v.codeTtlMinutes} minutes and works once.`,
        `It was requested on ${v.when}${from(v)} by someone who knows your password. If this was not you, do not share the code with anyone; change your password at ${v.appUrl}/forgot-password.`,
      ],
    }),
    identity_linked: (v) => ({
      subject: `${v.provider} sign-in was added to your ${v.product} account`,
      paragraphs: [
        `On ${v.when}${from(v)} your ${v.product} account was signed in to with ${v.provider} for the first time. ${v.provider} confirmed that this email address belongs to that account, so you can now sign in with ${v.provider} as well.`,
        `If this was not you, remove ${v.provider} from your linked accounts. ${notYou(v)}`,
      ],
    }),
    email_change: (v) => ({
      subject: `Confirm your new email address for ${v.product}`,
      paragraphs: [
        `Someone signed in to a ${v.product} account asked, on ${v.when}${from(v)}, to make this address the account's sign-in address. Open the link below to confirm it: from then on you sign in with this address.`,
        `The link works once and is valid for ${v.linkTtlHours} hours. If you did not ask for this, ignore this email: nothing changes.`,
      ],
      action: "Confirm the new address",
    }),
    email_change_requested: (v) => ({
      subject: `A new email address was requested for your ${v.product} account`,
      paragraphs: [
        `On ${v.when}${from(v)} someone signed in to your ${v.product} account asked to change its sign-in address. Nothing changes until the link mailed to the new address is opened.`,
        notYou(v),
      ],
    }),
    email_changed: (v) => ({
      subject: `The email address of your ${v.product} account was changed`,
      paragraphs: [
        `On ${v.when}${from(v)} the sign-in address of your ${v.product} account was changed from this one to a new address. This address no longer signs in to it.`,
        `If this was not you, contact support at once: your account may be in someone else's hands.`,
      ],
    }),
  },
};
