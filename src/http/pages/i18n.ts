import type { AuthErrorCode } from "../../domain/errors.js";
import { AUTH_ERRORS } from "../../domain/errors.js";

/** The languages the hosted pages speak. English is the fallback. */
export const LOCALES = ["en", "ro"] as const;
export type Locale = (typeof LOCALES)[number];

const isLocale = (value: string): value is Locale => (LOCALES as readonly string[]).includes(value);

/** `ro-RO` -> `ro`; anything else -> null. */
function primary(tag: string | null | undefined): Locale | null {
  const lang = tag?.trim().toLowerCase().split(/[-_]/)[0];
  return lang && isLocale(lang) ? lang : null;
}

/** Accept-Language's preferred supported language (RFC 9110 q-values), or null. */
export function fromAcceptLanguage(header: string | undefined): Locale | null {
  if (!header) return null;
  const ranked = header
    .split(",")
    .slice(0, 20)
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
      return { locale: primary(tag), q: q ? Number(q[1]) : 1, index };
    })
    .filter((r) => r.locale !== null && r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked[0]?.locale ?? null;
}

/** An explicit choice (`?lang=`), then the signed-in user's locale, then the browser's, then English. */
export function pickLocale(
  choice: string | undefined,
  userLocale: string | null | undefined,
  acceptLanguage?: string,
): Locale {
  return primary(choice) ?? primary(userLocale) ?? fromAcceptLanguage(acceptLanguage) ?? "en";
}

const en = {
  skipToContent: "Skip to content",
  language: "Language",
  errorSummary: "There is a problem",
  optional: "optional",
  required: "This value is required.",
  account: "Your account",
  signOut: "Sign out",
  signIn: "Sign in",
  // login
  loginTitle: "Sign in",
  email: "Email address",
  password: "Password",
  signInButton: "Sign in",
  forgotLink: "Forgot your password?",
  noAccount: "No account yet?",
  registerLink: "Create one",
  mfaTitle: "Two-step verification",
  mfaIntro: "Your account is protected with a second step.",
  totpLabel: "Code from your authenticator app",
  totpHint: "The 6-digit code your app shows now.",
  verifyButton: "Verify",
  useBackupCode: "Use a backup code instead",
  backupCodeLabel: "Backup code",
  backupCodeHint: "One of the codes you saved, such as abcd-2345. Each works once.",
  startOver: "Start over",
  resendConfirmation: "Send the confirmation email again",
  // register
  registerTitle: "Create your account",
  firstName: "First name",
  lastName: "Last name",
  newPassword: "Password",
  newPasswordHint: (min: number) => `At least ${min} characters. A phrase of a few words is easy to remember.`,
  registerButton: "Create account",
  haveAccount: "Already have an account?",
  registrationClosedTitle: "Registration is closed",
  registrationClosed: "New accounts cannot be created here. If you already have an account, sign in.",
  checkEmailTitle: "Check your email",
  checkEmail: (email: string) =>
    `We sent a confirmation link to ${email}. Open it to activate your account; it works for 24 hours.`,
  // confirm
  confirmTitle: "Confirm your email address",
  confirmIntro: "Press the button to confirm your email address.",
  confirmButton: "Confirm my email address",
  confirmedTitle: "Email address confirmed",
  confirmed: "Your email address has been confirmed. You can now sign in.",
  alreadyConfirmed: "This email address is already confirmed. You can sign in.",
  badLinkTitle: "This link does not work",
  badLink: "The link is invalid or has expired. Ask for a new one.",
  resendTitle: "Confirmation email",
  resent: "If an unconfirmed account uses this address, a new confirmation email is on its way.",
  resendButton: "Send again",
  // forgot / reset
  forgotTitle: "Reset your password",
  forgotIntro: "Enter your email address and we will send you a link to choose a new password.",
  forgotButton: "Send the link",
  forgotSent:
    "If an account with this email address exists, an email with a link to reset the password has been sent. The link works for one hour.",
  backToSignIn: "Back to sign in",
  resetTitle: "Choose a new password",
  resetButton: "Save the new password",
  resetDone: "Your password has been changed and you were signed out everywhere. Sign in with your new password.",
  requestNewLink: "Ask for a new link",
  // account
  signedInAs: (email: string) => `Signed in as ${email}`,
  profile: "Profile",
  preferredLanguage: "Language",
  saveProfile: "Save profile",
  changePassword: "Password",
  currentPassword: "Current password",
  newPasswordLabel: "New password",
  changePasswordButton: "Change password",
  changePasswordIntro: "Changing it signs you out on every other device.",
  twoFactor: "Two-step verification",
  statusOn: "On",
  statusOff: "Off",
  twoFactorOff: "Add an authenticator app so that a stolen password is not enough to sign in.",
  twoFactorOn: "Sign-ins ask for a code from your authenticator app.",
  setUpTotp: "Set up an authenticator app",
  backupCodesLeft: (n: number) => `${n} backup ${n === 1 ? "code" : "codes"} left.`,
  regenerateCodes: "Get new backup codes",
  disableTotp: "Turn off two-step verification",
  confirmWithPassword: "Confirm with your password",
  totpSetupTitle: "Set up your authenticator app",
  totpSetupStep1: "Scan this QR code with an authenticator app (such as Aegis, Google Authenticator or 1Password).",
  qrAlt: "QR code with the secret for your authenticator app",
  totpManual: "Cannot scan it? Enter this key by hand:",
  totpSetupStep2: "Enter the 6-digit code the app shows to finish.",
  enableButton: "Turn on",
  cancel: "Cancel",
  backupCodesTitle: "Save your backup codes",
  backupCodesIntro:
    "Each code signs you in once if you lose your phone. Save them somewhere safe now: they are shown only this once.",
  backupCodesDone: "I saved them",
  sessions: "Where you are signed in",
  sessionStarted: "Signed in",
  sessionLastUsed: "Last active",
  sessionDevice: "Device",
  sessionIp: "IP address",
  thisDevice: "This device",
  revoke: "Sign out",
  revokeSession: (device: string) => `Sign out ${device}`,
  unknownDevice: "Unknown device",
  securityLog: "Security log",
  eventWhen: "When",
  eventWhat: "Event",
  noEvents: "Nothing yet.",
  // logout
  logoutTitle: "Sign out",
  logoutConfirm: "Sign out of this browser?",
  logoutButton: "Sign out",
  signedOut: "You are signed out.",
  // notices after a redirect
  notices: {
    "signed-out": "You are signed out.",
    "profile-saved": "Your profile was saved.",
    "password-changed": "Your password was changed. Every other device was signed out.",
    "totp-disabled": "Two-step verification is off.",
    "session-revoked": "That device was signed out.",
    "totp-enabled": "Two-step verification is on.",
  } as Record<string, string>,
  // error pages
  errorTitle: "Something went wrong",
  formExpired: "This form has expired. Go back, reload the page and try again.",
  invalidOrigin: "This request did not come from this site, so it was refused.",
  notFound: "There is no page here.",
  tryAgain: "Please try again.",
  reauth: "For your security, sign in again before you change this.",
  events: {
    login_success: "Signed in",
    login_failure: "Failed sign-in",
    logout: "Signed out",
    mfa_challenge_issued: "Asked for the second step",
    mfa_failure: "Wrong second-step code",
    mfa_enabled: "Two-step verification turned on",
    mfa_disabled: "Two-step verification turned off",
    mfa_reset: "Two-step verification reset by an administrator",
    backup_codes_regenerated: "New backup codes",
    password_changed: "Password changed",
    password_reset: "Password reset by email",
    email_confirmed: "Email address confirmed",
    session_revoked: "Device signed out",
    refresh_token_reuse_detected: "A reused sign-in token ended a session",
    user_registered: "Account created",
    account_activated: "Account activated",
    account_deactivated: "Account deactivated",
  } as Record<string, string>,
};

export type Messages = typeof en;

const ro: Messages = {
  skipToContent: "Sari la conținut",
  language: "Limba",
  errorSummary: "A apărut o problemă",
  optional: "opțional",
  required: "Câmpul este obligatoriu.",
  account: "Contul tău",
  signOut: "Deconectare",
  signIn: "Autentificare",
  loginTitle: "Autentificare",
  email: "Adresa de email",
  password: "Parola",
  signInButton: "Autentifică-te",
  forgotLink: "Ai uitat parola?",
  noAccount: "Nu ai cont încă?",
  registerLink: "Creează unul",
  mfaTitle: "Verificare în doi pași",
  mfaIntro: "Contul tău este protejat cu un al doilea pas.",
  totpLabel: "Codul din aplicația de autentificare",
  totpHint: "Codul de 6 cifre pe care îl arată aplicația acum.",
  verifyButton: "Verifică",
  useBackupCode: "Folosește un cod de rezervă",
  backupCodeLabel: "Cod de rezervă",
  backupCodeHint: "Unul dintre codurile salvate, de forma abcd-2345. Fiecare merge o singură dată.",
  startOver: "Ia-o de la capăt",
  resendConfirmation: "Trimite din nou emailul de confirmare",
  registerTitle: "Creează-ți contul",
  firstName: "Prenume",
  lastName: "Nume",
  newPassword: "Parola",
  newPasswordHint: (min: number) => `Cel puțin ${min} caractere. O frază din câteva cuvinte se ține minte ușor.`,
  registerButton: "Creează contul",
  haveAccount: "Ai deja cont?",
  registrationClosedTitle: "Înregistrarea este închisă",
  registrationClosed: "Aici nu se pot crea conturi noi. Dacă ai deja un cont, autentifică-te.",
  checkEmailTitle: "Verifică-ți emailul",
  checkEmail: (email: string) =>
    `Am trimis un link de confirmare la ${email}. Deschide-l ca să îți activezi contul; este valabil 24 de ore.`,
  confirmTitle: "Confirmă adresa de email",
  confirmIntro: "Apasă butonul ca să îți confirmi adresa de email.",
  confirmButton: "Confirmă adresa de email",
  confirmedTitle: "Adresa de email a fost confirmată",
  confirmed: "Adresa ta de email a fost confirmată. Acum te poți autentifica.",
  alreadyConfirmed: "Această adresă de email este deja confirmată. Te poți autentifica.",
  badLinkTitle: "Acest link nu funcționează",
  badLink: "Linkul nu este valid sau a expirat. Cere unul nou.",
  resendTitle: "Email de confirmare",
  resent: "Dacă un cont neconfirmat folosește această adresă, un nou email de confirmare este pe drum.",
  resendButton: "Trimite din nou",
  forgotTitle: "Resetează parola",
  forgotIntro: "Introdu adresa de email și îți trimitem un link ca să alegi o parolă nouă.",
  forgotButton: "Trimite linkul",
  forgotSent:
    "Dacă există un cont cu această adresă de email, am trimis un email cu un link pentru resetarea parolei. Linkul este valabil o oră.",
  backToSignIn: "Înapoi la autentificare",
  resetTitle: "Alege o parolă nouă",
  resetButton: "Salvează parola nouă",
  resetDone: "Parola a fost schimbată și ai fost deconectat peste tot. Autentifică-te cu parola nouă.",
  requestNewLink: "Cere un link nou",
  signedInAs: (email: string) => `Autentificat ca ${email}`,
  profile: "Profil",
  preferredLanguage: "Limba",
  saveProfile: "Salvează profilul",
  changePassword: "Parola",
  currentPassword: "Parola actuală",
  newPasswordLabel: "Parola nouă",
  changePasswordButton: "Schimbă parola",
  changePasswordIntro: "Schimbarea te deconectează de pe toate celelalte dispozitive.",
  twoFactor: "Verificare în doi pași",
  statusOn: "Activată",
  statusOff: "Dezactivată",
  twoFactorOff: "Adaugă o aplicație de autentificare, ca o parolă furată să nu fie de ajuns.",
  twoFactorOn: "La autentificare ți se cere un cod din aplicația de autentificare.",
  setUpTotp: "Configurează o aplicație de autentificare",
  backupCodesLeft: (n: number) => (n === 1 ? "A rămas un cod de rezervă." : `Au rămas ${n} coduri de rezervă.`),
  regenerateCodes: "Generează coduri de rezervă noi",
  disableTotp: "Dezactivează verificarea în doi pași",
  confirmWithPassword: "Confirmă cu parola",
  totpSetupTitle: "Configurează aplicația de autentificare",
  totpSetupStep1:
    "Scanează acest cod QR cu o aplicație de autentificare (de exemplu Aegis, Google Authenticator sau 1Password).",
  qrAlt: "Cod QR cu cheia secretă pentru aplicația de autentificare",
  totpManual: "Nu îl poți scana? Introdu manual această cheie:",
  totpSetupStep2: "Introdu codul de 6 cifre afișat de aplicație ca să termini.",
  enableButton: "Activează",
  cancel: "Renunță",
  backupCodesTitle: "Salvează codurile de rezervă",
  backupCodesIntro:
    "Fiecare cod te autentifică o dată dacă îți pierzi telefonul. Salvează-le acum într-un loc sigur: sunt afișate doar acum.",
  backupCodesDone: "Le-am salvat",
  sessions: "Unde ești autentificat",
  sessionStarted: "Autentificat la",
  sessionLastUsed: "Ultima activitate",
  sessionDevice: "Dispozitiv",
  sessionIp: "Adresa IP",
  thisDevice: "Acest dispozitiv",
  revoke: "Deconectează",
  revokeSession: (device: string) => `Deconectează ${device}`,
  unknownDevice: "Dispozitiv necunoscut",
  securityLog: "Jurnal de securitate",
  eventWhen: "Când",
  eventWhat: "Eveniment",
  noEvents: "Nimic deocamdată.",
  logoutTitle: "Deconectare",
  logoutConfirm: "Te deconectezi din acest browser?",
  logoutButton: "Deconectează-te",
  signedOut: "Te-ai deconectat.",
  notices: {
    "signed-out": "Te-ai deconectat.",
    "profile-saved": "Profilul a fost salvat.",
    "password-changed": "Parola a fost schimbată. Toate celelalte dispozitive au fost deconectate.",
    "totp-disabled": "Verificarea în doi pași este dezactivată.",
    "session-revoked": "Dispozitivul a fost deconectat.",
    "totp-enabled": "Verificarea în doi pași este activată.",
  },
  errorTitle: "Ceva nu a mers",
  formExpired: "Formularul a expirat. Întoarce-te, reîncarcă pagina și încearcă din nou.",
  invalidOrigin: "Cererea nu a venit de pe acest site, așa că a fost refuzată.",
  notFound: "Aici nu este nicio pagină.",
  tryAgain: "Te rugăm să încerci din nou.",
  reauth: "Pentru siguranța ta, autentifică-te din nou înainte să schimbi asta.",
  events: {
    login_success: "Autentificare",
    login_failure: "Autentificare eșuată",
    logout: "Deconectare",
    mfa_challenge_issued: "Cerere pentru al doilea pas",
    mfa_failure: "Cod greșit la al doilea pas",
    mfa_enabled: "Verificarea în doi pași a fost activată",
    mfa_disabled: "Verificarea în doi pași a fost dezactivată",
    mfa_reset: "Verificarea în doi pași a fost resetată de un administrator",
    backup_codes_regenerated: "Coduri de rezervă noi",
    password_changed: "Parola a fost schimbată",
    password_reset: "Parola a fost resetată prin email",
    email_confirmed: "Adresa de email a fost confirmată",
    session_revoked: "Dispozitiv deconectat",
    refresh_token_reuse_detected: "Un token refolosit a închis o sesiune",
    user_registered: "Cont creat",
    account_activated: "Cont activat",
    account_deactivated: "Cont dezactivat",
  },
};

export const MESSAGES: Record<Locale, Messages> = { en, ro };

/** The domain's sentences in Romanian; English is the domain's own text. */
const RO_ERRORS: Partial<Record<AuthErrorCode, string>> = {
  INVALID_CREDENTIALS: "Adresa de email sau parola nu este corectă.",
  EMAIL_NOT_CONFIRMED: "Confirmă-ți adresa de email înainte să te autentifici.",
  ACCOUNT_INACTIVE: "Contul tău a fost dezactivat. Contactează echipa de suport.",
  RATE_LIMITED: "Prea multe încercări. Încearcă din nou mai târziu.",
  ACCOUNT_THROTTLED: "Prea multe autentificări eșuate pentru acest cont. Încearcă din nou mai târziu.",
  OVERLOADED: "Serverul este ocupat. Încearcă din nou în câteva clipe.",
  MFA_CODE_MISSING: "Introdu codul.",
  MFA_CODE_INVALID: "Codul nu este corect.",
  MFA_ENABLE_CODE_INVALID: "Codul nu este corect.",
  MFA_CHALLENGE_INVALID: "Verificarea a expirat. Autentifică-te din nou.",
  MFA_TOO_MANY_ATTEMPTS: "Prea multe încercări greșite. Autentifică-te din nou.",
  MFA_ALREADY_ENABLED: "Verificarea în doi pași este deja activată.",
  MFA_NOT_ENABLED: "Verificarea în doi pași nu este activată.",
  MFA_SETUP_MISSING: "Începe mai întâi configurarea aplicației de autentificare.",
  WRONG_PASSWORD: "Parola nu este corectă.",
  WEAK_PASSWORD: "Parola nu îndeplinește cerințele.",
  EMAIL_TAKEN: "Există deja un cont cu această adresă de email.",
  REGISTRATION_DISABLED: "Înregistrarea este dezactivată.",
  EMAIL_ALREADY_CONFIRMED: "Această adresă de email este deja confirmată.",
  EMAIL_TOKEN_INVALID: "Linkul nu este valid sau a expirat.",
  VALIDATION_FAILED: "Unele câmpuri trebuie corectate.",
  NOT_FOUND: "Nu a fost găsit.",
};

const EN_ERRORS: Partial<Record<AuthErrorCode, string>> = {
  // The API's "Invalid credentials." reads curtly on a page meant for people.
  INVALID_CREDENTIALS: "The email address or the password is not right.",
  VALIDATION_FAILED: "Some fields need correcting.",
};

export function errorText(code: AuthErrorCode, locale: Locale): string {
  return (locale === "ro" ? RO_ERRORS[code] : EN_ERRORS[code]) ?? AUTH_ERRORS[code];
}

/** The domain's field sentences (password policy, email format) in Romanian. */
const RO_FIELD: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [
    /^The password must be at least (\d+) characters long\.$/,
    (m) => `Parola trebuie să aibă cel puțin ${m[1]} caractere.`,
  ],
  [/^The password must be at most (\d+) characters long\.$/, (m) => `Parola poate avea cel mult ${m[1]} caractere.`],
  [/^This password is too common\./, () => "Această parolă este prea des folosită. Alege alta."],
  [/^The password must not be your email address\.$/, () => "Parola nu poate fi adresa ta de email."],
  [/^The password is incorrect\.$/, () => "Parola nu este corectă."],
  [/^This value is not a valid email address\.$/, () => "Adresa de email nu este validă."],
  [/^This value is required\.$/, () => "Câmpul este obligatoriu."],
  [/^This value is not a valid locale\.$/, () => "Limba nu este validă."],
];

export function fieldText(sentence: string, locale: Locale): string {
  if (locale === "en") return sentence;
  for (const [pattern, translate] of RO_FIELD) {
    const match = pattern.exec(sentence);
    if (match) return translate(match);
  }
  return sentence;
}
