/** Word lists for plausible generated names. Small on purpose: combinations give enough variety. */
export const COMPANY_WORDS_A = [
  'Northern', 'Bright', 'Silver', 'Granite', 'Harbour', 'Maple', 'Summit', 'Copper', 'Willow', 'Blue', 'Red Kite',
  'Oak', 'Coastal', 'Union', 'Pioneer', 'Meadow', 'Crown', 'Atlas', 'Lakeside', 'Evergreen', 'Riverside', 'Golden',
  'Highland', 'Orchard', 'Beacon', 'Falcon', 'Juniper', 'Kestrel', 'Larch', 'Marble',
];
export const COMPANY_WORDS_B = [
  'Bakery', 'Logistics', 'Studios', 'Engineering', 'Florists', 'Consulting', 'Print Works', 'Joinery', 'Outfitters',
  'Brewing', 'Dental', 'Garage', 'Architects', 'Kitchens', 'Electrical', 'Tiles', 'Coffee', 'Marine', 'Software',
  'Catering', 'Plumbing', 'Textiles', 'Optics', 'Removals', 'Gardens', 'Media', 'Cycles', 'Hardware', 'Foods', 'Labs',
];
export const COMPANY_SUFFIX = ['Ltd', 'Limited', '& Co', 'Group', 'LLP', 'Partners', 'Trading', 'Services'];
export const FIRST_NAMES = [
  'Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Ivy', 'Lily', 'Grace', 'Sophia', 'Freya', 'Noah', 'Oliver', 'George',
  'Arthur', 'Leo', 'Harry', 'Oscar', 'Archie', 'Henry', 'Theo', 'Priya', 'Aisha', 'Mateo', 'Chen', 'Yusuf', 'Zara',
];
export const LAST_NAMES = [
  'Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Patel', 'Robinson', 'Wright',
  'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Clarke', 'Khan', 'Murphy',
];
export const STREETS = [
  'High Street', 'Station Road', 'Church Lane', 'Mill Road', 'Park Avenue', 'Victoria Road', 'Queen Street',
  'Kings Road', 'Market Place', 'Bridge Street', 'Green Lane', 'Manor Road', 'Chapel Street', 'Harbour View',
];
export const CITIES: readonly { city: string; region: string }[] = [
  { city: 'Leeds', region: 'West Yorkshire' },
  { city: 'Bristol', region: 'Avon' },
  { city: 'Manchester', region: 'Greater Manchester' },
  { city: 'York', region: 'North Yorkshire' },
  { city: 'Norwich', region: 'Norfolk' },
  { city: 'Bath', region: 'Somerset' },
  { city: 'Exeter', region: 'Devon' },
  { city: 'Durham', region: 'County Durham' },
  { city: 'Brighton', region: 'East Sussex' },
  { city: 'Oxford', region: 'Oxfordshire' },
];
export const PRODUCTS = [
  'Consulting hour', 'Design package', 'Installation', 'Maintenance visit', 'Annual support plan', 'Training day',
  'Oak table', 'Steel bracket', 'LED panel', 'Ceramic tile box', 'Copper pipe 2m', 'Espresso beans 1kg',
  'Delivery charge', 'Site survey', 'Software licence', 'Printed brochure', 'Cable reel', 'Safety boots',
  'Paint 5L', 'Timber beam', 'Filter cartridge', 'Service contract', 'Website hosting', 'Photography session',
];
export const EXPENSE_DESCRIPTIONS = [
  'Office supplies', 'Monthly rent', 'Electricity', 'Broadband', 'Fuel', 'Train tickets', 'Accountancy fees',
  'Insurance premium', 'Cleaning services', 'Advertising campaign', 'Repairs', 'Stock purchase', 'Packaging',
  'Subcontractor', 'Software subscription', 'Courier', 'Stationery', 'Equipment hire',
];
