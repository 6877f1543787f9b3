// Inline SVG icons (no icon font, no emoji font needed). Decorative: hidden from assistive tech.
const common = { width: 20, height: 20, viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false', class: 'icon' };

export const Bell = () => (
  <svg {...common} fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
    <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
    <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
  </svg>
);

export const Heart = ({ filled }) => (
  <svg {...common} fill={filled ? 'currentColor' : 'none'} stroke="currentColor" stroke-width="2" stroke-linejoin="round">
    <path d="M12 21s-7.5-4.6-9.5-9.2C1 8.3 3.2 4.5 7 4.5c2.1 0 3.6 1.1 5 3 1.4-1.9 2.9-3 5-3 3.8 0 6 3.8 4.5 7.3C19.5 16.4 12 21 12 21z" />
  </svg>
);

export const Comment = () => (
  <svg {...common} fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round">
    <path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.6A8 8 0 1 1 21 12z" />
  </svg>
);

export const MenuIcon = () => (
  <svg {...common} fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round">
    <path d="M4 6h16M4 12h16M4 18h16" />
  </svg>
);
