/**
 * The raw material the sandbox institution is drawn from. Names include accents, apostrophes and
 * hyphens, and a few titles include `/`, `&`, `:` and quotes, so that code handling them (file
 * names, PDF text, logs) meets them in the sandbox before it meets them in a real LMS. Every
 * character is in WinAnsi, the encoding of the PDF standard fonts the certificates use.
 */

export const FIRST_NAMES: readonly string[] = [
  'Ada',
  'Amara',
  'Ángel',
  'Bea',
  'Chidi',
  'Chloé',
  'Dmitri',
  'Elif',
  'Emeka',
  'Farah',
  'Grace',
  'Hana',
  'Ines',
  'Jamal',
  'Joaquín',
  'Kai',
  'Lena',
  'Liam',
  'Maja',
  'Mateo',
  'Mei',
  'Nadia',
  'Noah',
  'Olu',
  'Priya',
  'Rafael',
  'Ravi',
  'Sade',
  'Sofia',
  'Søren',
  'Tariq',
  'Theo',
  'Uma',
  'Viktor',
  'Wen',
  'Yara',
  'Yusuf',
  'Zoë',
];

export const LAST_NAMES: readonly string[] = [
  'Abara',
  'Andersen',
  'Bianchi',
  'Castro',
  'Chen',
  'Dubois',
  'Eze',
  'Fernández',
  'García',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kaur',
  'Kowalski',
  'Lindqvist',
  'Mensah',
  'Müller',
  "N'Diaye",
  'Nakamura',
  "O'Brien",
  'Okafor',
  'Park',
  'Petrov',
  'Quispe',
  'Rossi',
  'Santos',
  'Schmidt',
  'Silva',
  'Smith-Jones',
  'Tanaka',
  'Van der Berg',
  'Wójcik',
  'Yilmaz',
  'Zhang',
];

export interface CourseSeed {
  name: string;
  code: string;
  /** The badge awarded in this course, besides the completion certificate. */
  badge: string;
}

export const COURSES: readonly CourseSeed[] = [
  { name: 'Introduction to Statistics', code: 'STAT-101', badge: 'Data Wrangler' },
  { name: 'Academic Writing', code: 'ENGL-110', badge: 'Clear Communicator' },
  { name: 'Health & Safety / Level 1', code: 'HS-001', badge: 'Safety First' },
  { name: 'Foundations of Programming', code: 'CS-100', badge: 'First Program' },
  { name: 'Organic Chemistry I', code: 'CHEM-201', badge: 'Lab Ready' },
  { name: 'World History: 1900 to Today', code: 'HIST-150', badge: 'Archive Explorer' },
  { name: 'Financial Accounting', code: 'ACCT-120', badge: 'Balanced Books' },
  { name: 'Spanish for Beginners', code: 'SPAN-101', badge: '¡Hola!' },
  { name: 'Linear Algebra', code: 'MATH-210', badge: 'Vector Voyager' },
  { name: 'Research Ethics "Core"', code: 'ETH-300', badge: 'Ethics Champion' },
  { name: 'Cell Biology', code: 'BIO-140', badge: 'Microscope Master' },
  { name: 'Public Speaking', code: 'COMM-105', badge: 'Confident Speaker' },
];

export const INSTITUTION_NAME = 'Sandbox University';
