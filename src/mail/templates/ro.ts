import type { Catalogue, TemplateVars } from "./catalogue.js";

const from = (v: TemplateVars) => (v.ip ? ` de la adresa IP ${v.ip}` : "");
const notYou = (v: TemplateVars) =>
  `Dacă nu ați fost dumneavoastră, resetați-vă imediat parola la ${v.appUrl}/forgot-password și contactați echipa de suport.`;

export const ro: Catalogue = {
  locale: "ro-RO",
  greeting: (firstName) => (firstName ? `Bună ziua, ${firstName},` : "Bună ziua,"),
  linkFallback: "Dacă butonul nu funcționează, copiați această adresă în browser:",
  signature: (product) => `Echipa ${product}`,
  mails: {
    confirm_email: (v) => ({
      subject: `Confirmați adresa de email pentru ${v.product}`,
      paragraphs: [
        `Vă mulțumim că v-ați înregistrat în ${v.product}. Vă rugăm să vă confirmați adresa de email deschizând linkul de mai jos.`,
        `Linkul este valabil ${v.linkTtlHours} de ore. Dacă nu ați creat un cont, puteți ignora acest email.`,
      ],
      action: "Confirmă adresa de email",
    }),
    reset_password: (v) => ({
      subject: `Resetați parola contului ${v.product}`,
      paragraphs: [
        `Cineva a cerut resetarea parolei contului dumneavoastră ${v.product}. Pentru a alege o parolă nouă, deschideți linkul de mai jos.`,
        `Linkul poate fi folosit o singură dată și este valabil ${v.linkTtlHours === 1 ? "o oră" : `${v.linkTtlHours} ore`}. Dacă nu ați cerut acest lucru, ignorați acest email: parola rămâne neschimbată.`,
      ],
      action: "Alege o parolă nouă",
    }),
    password_changed: (v) => ({
      subject: `Parola contului ${v.product} a fost schimbată`,
      paragraphs: [`Parola contului dumneavoastră ${v.product} a fost schimbată pe ${v.when}${from(v)}.`, notYou(v)],
    }),
    password_reset_done: (v) => ({
      subject: `Parola contului ${v.product} a fost resetată`,
      paragraphs: [
        `Parola contului dumneavoastră ${v.product} a fost resetată pe ${v.when}${from(v)}. Toate dispozitivele conectate au fost deconectate.`,
        notYou(v),
      ],
    }),
    mfa_enabled: (v) => ({
      subject: `Autentificarea în doi pași este activă pentru contul ${v.product}`,
      paragraphs: [
        `Autentificarea în doi pași a fost activată pentru contul dumneavoastră ${v.product} pe ${v.when}${from(v)}.`,
        notYou(v),
      ],
    }),
    mfa_disabled: (v) => ({
      subject: `Autentificarea în doi pași a fost dezactivată pentru contul ${v.product}`,
      paragraphs: [
        `Autentificarea în doi pași a fost dezactivată pentru contul dumneavoastră ${v.product} pe ${v.when}${from(v)}. Contul este acum protejat doar de parolă.`,
        notYou(v),
      ],
    }),
    refresh_token_reuse: (v) => ({
      subject: `Activitate suspectă în contul ${v.product}`,
      paragraphs: [
        `Pe ${v.when} un token de autentificare al contului dumneavoastră ${v.product} a fost folosit din nou după ce fusese deja folosit${from(v)}. Acest lucru poate însemna că a fost copiat de pe unul dintre dispozitivele dumneavoastră, așa că am deconectat acel dispozitiv.`,
        `Dacă nu recunoașteți această activitate, schimbați-vă parola și verificați dispozitivele conectate.`,
      ],
    }),
    account_unlock: (v) => ({
      subject: `Autentificările în contul ${v.product} sunt încetinite`,
      paragraphs: [
        `Cineva a încercat multe parole sau coduri greșite în contul dumneavoastră ${v.product}, ultima dată pe ${v.when}${from(v)}. Pentru a-l proteja, autentificările de pe dispozitive noi sunt suspendate o vreme. Dispozitivele de pe care v-ați autentificat deja funcționează în continuare.`,
        `Dacă ați fost dumneavoastră și doriți să vă autentificați acum de pe acest dispozitiv, deschideți linkul de mai jos: ridică suspendarea o dată și ține minte browserul în care îl deschideți. Funcționează o singură dată și este valabil ${v.linkTtlHours} de ore.`,
        `Dacă nu ați fost dumneavoastră, parola este în siguranță atâta timp cât nu o cunoaște nimeni altcineva; dacă o folosiți și în alte locuri, schimbați-o la ${v.appUrl}/forgot-password.`,
      ],
      action: "Deblocați autentificarea",
    }),
    email_otp_code: (v) => ({
      subject: `Codul de autentificare ${v.product}`,
      paragraphs: [
        `Codul dumneavoastră de autentificare este ${v.code}. Este valabil ${v.codeTtlMinutes} minute și poate fi folosit o singură dată.`,
        `A fost cerut pe ${v.when}${from(v)} de cineva care vă cunoaște parola. Dacă nu ați fost dumneavoastră, nu comunicați codul nimănui și schimbați-vă parola la ${v.appUrl}/forgot-password.`,
      ],
    }),
    identity_linked: (v) => ({
      subject: `Autentificarea cu ${v.provider} a fost adăugată contului ${v.product}`,
      paragraphs: [
        `Pe ${v.when}${from(v)} v-ați autentificat pentru prima dată în contul dumneavoastră ${v.product} cu ${v.provider}. ${v.provider} a confirmat că această adresă de email aparține contului respectiv, așa că de acum vă puteți autentifica și cu ${v.provider}.`,
        `Dacă nu ați fost dumneavoastră, eliminați ${v.provider} din conturile asociate. ${notYou(v)}`,
      ],
    }),
    email_change: (v) => ({
      subject: `Confirmați noua adresă de email pentru ${v.product}`,
      paragraphs: [
        `Cineva autentificat într-un cont ${v.product} a cerut, pe ${v.when}${from(v)}, ca această adresă să devină adresa de autentificare a contului. Deschideți linkul de mai jos pentru a confirma: de atunci vă veți autentifica cu această adresă.`,
        `Linkul funcționează o singură dată și este valabil ${v.linkTtlHours} de ore. Dacă nu ați cerut acest lucru, ignorați acest email: nu se schimbă nimic.`,
      ],
      action: "Confirmă noua adresă",
    }),
    email_change_requested: (v) => ({
      subject: `A fost cerută o nouă adresă de email pentru contul dumneavoastră ${v.product}`,
      paragraphs: [
        `Pe ${v.when}${from(v)} cineva autentificat în contul dumneavoastră ${v.product} a cerut schimbarea adresei de autentificare. Nu se schimbă nimic până nu este deschis linkul trimis la noua adresă.`,
        notYou(v),
      ],
    }),
    email_changed: (v) => ({
      subject: `Adresa de email a contului dumneavoastră ${v.product} a fost schimbată`,
      paragraphs: [
        `Pe ${v.when}${from(v)} adresa de autentificare a contului dumneavoastră ${v.product} a fost schimbată de pe aceasta pe o adresă nouă. Această adresă nu mai poate fi folosită pentru autentificare.`,
        `Dacă nu ați fost dumneavoastră, contactați imediat echipa de suport: contul dumneavoastră poate fi în mâinile altcuiva.`,
      ],
    }),
  },
};
