import { declassifyLabel } from '../../cli/commands';

describe('agentsec ask --declassify-to', () => {
  it('a bare level is sent as a level, which the API reads as that level with the command\'s compartments', () => {
    expect(declassifyLabel('secret')).toBe('SECRET');
  });

  it('SECRET/MEDICAL is sent as a whole label', () => {
    expect(declassifyLabel('SECRET/MEDICAL')).toEqual({ level: 'SECRET', compartments: ['MEDICAL'] });
    expect(declassifyLabel('confidential/medical/finance')).toEqual({ level: 'CONFIDENTIAL', compartments: ['MEDICAL', 'FINANCE'] });
  });
});
