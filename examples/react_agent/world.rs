//! The grid world: a small, deterministic resource-gathering game in the spirit of
//! Crafter. Pure rules, no tracing: the traced environment and its hand-traced twin both
//! play it.

use serde::{Deserialize, Serialize};

/// What a cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    Grass,
    Tree,
    Stone,
    Water,
}

impl Cell {
    fn glyph(self) -> char {
        match self {
            Cell::Grass => '.',
            Cell::Tree => 'T',
            Cell::Stone => 'S',
            Cell::Water => '~',
        }
    }
}

/// A direction to move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    North,
    South,
    East,
    West,
}

/// One thing the agent can do in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Move(Direction),
    Collect,
    Noop,
}

/// What the agent carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub wood: u32,
    pub stone: u32,
}

/// What the agent sees: its position, its inventory and the 5×5 square around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub turn: u32,
    pub position: (usize, usize),
    pub inventory: Inventory,
    /// The cell the agent stands on (the view shows `@` there).
    pub underfoot: Cell,
    /// Rows of glyphs, north first: `.` grass, `T` tree, `S` stone, `~` water, `@` agent,
    /// `#` outside the map.
    pub view: Vec<String>,
}

/// What one step returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    pub observation: Observation,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
}

/// The goal: wood and stone to collect.
pub const GOAL: Inventory = Inventory { wood: 3, stone: 2 };

/// The world's state.
#[derive(Debug, Clone)]
pub struct World {
    size: usize,
    cells: Vec<Cell>,
    position: (usize, usize),
    inventory: Inventory,
    turn: u32,
    max_turns: u32,
}

impl World {
    /// A world laid out from `seed`: the same seed, the same world.
    pub fn new(seed: u64, size: usize, max_turns: u32) -> World {
        let mut rng = SplitMix(seed);
        let cells = (0..size * size)
            .map(|_| match rng.next() % 10 {
                0 | 1 => Cell::Tree,
                2 => Cell::Stone,
                3 => Cell::Water,
                _ => Cell::Grass,
            })
            .collect();
        let mut world = World {
            size,
            cells,
            position: (size / 2, size / 2),
            inventory: Inventory::default(),
            turn: 0,
            max_turns,
        };
        let start = world.index(world.position);
        world.cells[start] = Cell::Grass;
        world
    }

    fn index(&self, (x, y): (usize, usize)) -> usize {
        y * self.size + x
    }

    /// The cell at a position, if it is on the map.
    pub fn cell(&self, (x, y): (usize, usize)) -> Option<Cell> {
        (x < self.size && y < self.size).then(|| self.cells[self.index((x, y))])
    }

    /// What the agent sees now.
    pub fn observe(&self) -> Observation {
        let (px, py) = (self.position.0 as i64, self.position.1 as i64);
        let view = (-2..=2)
            .map(|dy| {
                (-2..=2)
                    .map(|dx| {
                        let (x, y) = (px + dx, py + dy);
                        if dx == 0 && dy == 0 {
                            '@'
                        } else if x < 0 || y < 0 {
                            '#'
                        } else {
                            self.cell((x as usize, y as usize)).map_or('#', Cell::glyph)
                        }
                    })
                    .collect()
            })
            .collect();
        let underfoot = self.cells[self.index(self.position)];
        Observation {
            turn: self.turn,
            position: self.position,
            inventory: self.inventory,
            underfoot,
            view,
        }
    }

    /// Applies the actions in order and ends the turn.
    pub fn apply(&mut self, actions: &[Action]) -> StepOutcome {
        let mut reward = 0.0;
        for action in actions {
            match *action {
                Action::Move(direction) => {
                    if let Some(next) = self.neighbour(direction)
                        && self.cell(next) != Some(Cell::Water)
                    {
                        self.position = next;
                    }
                }
                Action::Collect => {
                    let here = self.index(self.position);
                    match self.cells[here] {
                        Cell::Tree => {
                            self.inventory.wood += 1;
                            reward += 1.0;
                            self.cells[here] = Cell::Grass;
                        }
                        Cell::Stone if self.inventory.wood > 0 => {
                            self.inventory.stone += 1;
                            reward += 2.0;
                            self.cells[here] = Cell::Grass;
                        }
                        _ => {}
                    }
                }
                Action::Noop => {}
            }
        }
        self.turn += 1;
        let terminated = self.inventory.wood >= GOAL.wood && self.inventory.stone >= GOAL.stone;
        StepOutcome {
            observation: self.observe(),
            reward,
            terminated,
            truncated: !terminated && self.turn >= self.max_turns,
        }
    }

    fn neighbour(&self, direction: Direction) -> Option<(usize, usize)> {
        let (x, y) = self.position;
        let next = match direction {
            Direction::North => (x, y.checked_sub(1)?),
            Direction::South => (x, y + 1),
            Direction::East => (x + 1, y),
            Direction::West => (x.checked_sub(1)?, y),
        };
        self.cell(next).map(|_| next)
    }
}

/// Where the nearest wanted resource is in an observation's view, as an offset from the
/// agent: trees until the wood goal is met, then stone.
pub fn nearest_resource(observation: &Observation) -> Option<(i64, i64)> {
    let want = if observation.inventory.wood < GOAL.wood {
        'T'
    } else {
        'S'
    };
    let mut best: Option<(i64, i64)> = None;
    for (row, line) in observation.view.iter().enumerate() {
        for (column, glyph) in line.chars().enumerate() {
            if glyph != want {
                continue;
            }
            let offset = (column as i64 - 2, row as i64 - 2);
            let distance = |(dx, dy): (i64, i64)| dx.abs() + dy.abs();
            if best.is_none_or(|current| distance(offset) < distance(current)) {
                best = Some(offset);
            }
        }
    }
    best
}

/// Moves that reach an offset (east/west first), then `Collect`.
pub fn route_to((dx, dy): (i64, i64)) -> Vec<Action> {
    let horizontal = if dx > 0 { Direction::East } else { Direction::West };
    let vertical = if dy > 0 { Direction::South } else { Direction::North };
    let mut actions: Vec<Action> = std::iter::repeat_n(Action::Move(horizontal), dx.unsigned_abs() as usize)
        .chain(std::iter::repeat_n(Action::Move(vertical), dy.unsigned_abs() as usize))
        .collect();
    actions.push(Action::Collect);
    actions
}

/// A small deterministic random number generator (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
